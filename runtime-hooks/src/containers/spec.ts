/**
 * The config.json `berth run` writes: runc's default spec (`runc spec`) with the rootfs, process, hostname, Berth's
 * annotations and hooks, a read-only rootfs with tmpfs /tmp and /run (no copy-on-write layer: one rootfs serves many
 * containers), Docker's default capability set (CAP_NET_RAW included, so ping works) and, for `--network host`, no
 * network namespace. Pure.
 */
import type { OciHook } from '../hooks/oci-hooks.js';
import { standardMounts } from '../runtime/default-spec.js';
import type { Stage } from '../hooks/stages.js';

export interface SpecOptions {
  readonly rootfs: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly hostname: string;
  readonly terminal: boolean;
  readonly hostNetwork: boolean;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hooks: Readonly<Record<Stage, readonly OciHook[]>>;
}

const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const capabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export function buildSpec(options: SpecOptions): Record<string, unknown> {
  const env = options.env.some((item) => item.startsWith('PATH=')) ? [...options.env] : [defaultPath, ...options.env];
  if (options.terminal && !env.some((item) => item.startsWith('TERM='))) env.push('TERM=xterm');
  const namespaces = ['pid', 'network', 'ipc', 'uts', 'mount'].filter((type) => !(options.hostNetwork && type === 'network')).map((type) => ({ type }));
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: options.terminal, user: { uid: 0, gid: 0 }, args: [...options.args], env, cwd: '/',
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }], noNewPrivileges: true,
    },
    root: { path: options.rootfs, readonly: true },
    hostname: options.hostname,
    mounts: [
      ...standardMounts(),
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
    ],
    annotations: { ...options.annotations },
    hooks: options.hooks,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
