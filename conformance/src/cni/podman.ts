/**
 * podman as a real engine over Berth's plugins: a throwaway podman (its own CONTAINERS_CONF, --root, --runroot,
 * --tmpdir, CNI network config dir) that runs busybox containers from a rootfs made of busybox-static (no image
 * pull), inside a test host netns entered with nsenter, so its bridge and NAT stay out of the root netns.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand, type ExecResult, type TeardownRegistry, type TestNetns } from '../harness/index.js';

/** podman's per-container ulimits must stay at or below the hard limits of the invoking process. */
export const nofileLimitMax = 16384;
export const nprocLimitMax = 4096;
export const podmanCallTimeoutMs = 120_000;
/** Where rootful podman 4 keeps libcni's cached results (not configurable there). */
export const cniResultsCacheDir = '/var/lib/cni/results';

export interface PodmanSandboxOptions {
  /** cni_plugin_dirs: Berth's cni/bin. */
  readonly pluginDir: string;
  /** The conflist podman's network uses, written into the sandbox's network config dir as NAME.conflist. */
  readonly conflist: (ipamDir: string) => Record<string, unknown>;
  readonly busybox?: string;
  /** podman's own extra environment, which its CNI plugins inherit (BERTH_SOCKET: see modes.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The hard limit of a resource of this process, from /proc/self/limits ("unlimited" as Infinity). */
export function hardLimit(resource: 'Max open files' | 'Max processes'): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((text) => text.startsWith(resource)) ?? '';
  const hard = line.slice(resource.length).trim().split(/\s+/)[1] ?? 'unlimited';
  return hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard);
}

function containersConf(dir: string, pluginDir: string, env: Readonly<Record<string, string>>): string {
  const nofile = Math.min(nofileLimitMax, hardLimit('Max open files'));
  const nproc = Math.min(nprocLimitMax, hardLimit('Max processes'));
  return [
    '[containers]',
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    'log_driver = "k8s-file"',
    '[network]',
    'network_backend = "cni"',
    `cni_plugin_dirs = [${JSON.stringify(pluginDir)}]`,
    `network_config_dir = ${JSON.stringify(join(dir, 'net.d'))}`,
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    // conmon gets only these; the `podman container cleanup` it runs when a container exits (which may do the CNI
    // DEL before `podman rm` does) must reach the same berthd as podman (a test's BERTH_SOCKET is not the default).
    `conmon_env_vars = ${JSON.stringify(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(env).map(([key, value]) => `${key}=${value}`)])}`,
    'runtime = "runc"',
    'events_logger = "file"',
    `events_logfile_path = ${JSON.stringify(join(dir, 'events.log'))}`,
    `tmp_dir = ${JSON.stringify(join(dir, 'tmp'))}`,
    '',
  ].join('\n');
}

/** A minimal rootfs: busybox-static as /bin/busybox and /bin/sh, and the mount points runc expects. */
export function makeBusyboxRootfs(dir: string, busybox = '/bin/busybox'): string {
  const rootfs = join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  return rootfs;
}

export class PodmanSandbox {
  readonly dir: string;
  readonly host: TestNetns;
  readonly rootfs: string;
  readonly ipamDir: string;
  readonly networkName: string;
  readonly env: Readonly<Record<string, string>>;

  constructor(dir: string, host: TestNetns, rootfs: string, networkName: string, env: Readonly<Record<string, string>> = {}) {
    this.dir = dir;
    this.host = host;
    this.rootfs = rootfs;
    this.ipamDir = join(dir, 'ipam');
    this.networkName = networkName;
    this.env = env;
  }

  /** `podman ARGS…` with the sandbox's configuration, inside the host netns. */
  podman(args: readonly string[]): Promise<ExecResult> {
    const global = ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'vfs', '--tmpdir', join(this.dir, 'tmp')];
    return this.host.exec(['podman', ...global, ...args], {
      env: { ...process.env, ...this.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') },
      timeoutMs: podmanCallTimeoutMs,
    });
  }

  async podmanChecked(args: readonly string[]): Promise<string> {
    const result = await this.podman(args);
    if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    return result.stdout;
  }

  /** `podman run` of the busybox rootfs on the sandbox's network. */
  run(name: string, command: string, options: { detach?: boolean; publish?: readonly string[] } = {}): Promise<ExecResult> {
    return this.podman([
      'run', ...(options.detach === true ? ['-d'] : ['--rm']), '--name', name, '--network', this.networkName,
      ...(options.publish ?? []).flatMap((mapping) => ['-p', mapping]),
      '--rootfs', this.rootfs, '/bin/busybox', 'sh', '-c', command,
    ]);
  }

  /** The container's address on the sandbox network and its netns path, as podman reports them. */
  async inspect(name: string): Promise<{ id: string; address: string; sandboxKey: string }> {
    const format = `{{.Id}} {{(index .NetworkSettings.Networks "${this.networkName}").IPAddress}} {{.NetworkSettings.SandboxKey}}`;
    const [id = '', address = '', sandboxKey = ''] = (await this.podmanChecked(['inspect', '--format', format, name])).trim().split(' ');
    return { id, address, sandboxKey };
  }
}

/** Unmounts whatever podman may have left mounted under `dir` (lazily), then removes it. */
async function removeSandboxDir(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '')
    .filter((path) => path.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const path of mounts) await execCommand(['umount', '-l', path]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Creates the sandbox: directories, containers.conf, the rootfs and the network's conflist. Teardown removes every
 * container (`podman rm -a -f`) and the directory.
 */
export async function createPodmanSandbox(registry: TeardownRegistry, host: TestNetns, options: PodmanSandboxOptions): Promise<PodmanSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-podman-'));
  for (const sub of ['root', 'runroot', 'tmp', 'net.d', 'ipam']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'containers.conf'), containersConf(dir, options.pluginDir, options.env ?? {}));
  const rootfs = makeBusyboxRootfs(dir, options.busybox);
  const conflist = options.conflist(join(dir, 'ipam'));
  const networkName = String(conflist['name']);
  writeFileSync(join(dir, 'net.d', `${networkName}.conflist`), JSON.stringify(conflist, null, 2));
  const sandbox = new PodmanSandbox(dir, host, rootfs, networkName, options.env);
  registry.teardown(async () => {
    await sandbox.podman(['rm', '-a', '-f', '-t', '0']);
    await removeSandboxDir(dir);
  });
  return sandbox;
}
