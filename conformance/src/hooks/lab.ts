/**
 * A place to run containers with Berth's hooks: a test host netns (runtimes and plugins run in it through nsenter, so
 * bridges and nft rules stay out of the root netns), temp BERTH_ROOT / BERTH_RUN_DIR / CNI config dir / runc root, a
 * busybox rootfs, a berthd on its own socket (the conformance fake, or a real one in a one-host cluster), and
 * `leftovers()`, which lists everything of a container that is still anywhere: runtime state, process, hook record,
 * netns pin, mount, link, IPAM reservation, nft element, firewall endpoint, task, secrets directory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FirewallStore } from '@berth/firewall';
import { MNT_DETACH, umount2 } from '@berth/netns-napi';
import { berthHookPath, berthOciHooks, buildSpec } from '@berth/runtime';
import { makeBusyboxRootfs } from '../cni/podman.js';
import { BerthdHost } from '../cluster/berthd-host.js';
import { TestHost, settle, type ExecResult, type TeardownRegistry } from '../harness/index.js';
import { startFakeBerthd, type FakeBerthd } from './fake-berthd.js';

export const runtimeBinDir = join(dirname(createRequire(import.meta.url).resolve('@berth/runtime')), '..', '..', 'bin');
export const berthCli = join(runtimeBinDir, 'berth.js');
const cleanPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BundleOptions {
  readonly args: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly hostNetwork?: boolean;
  /** Extra hook environment (BERTH_FAILPOINTS…). */
  readonly hookEnv?: Readonly<Record<string, string>>;
  /** Another rootfs than the lab's busybox one. */
  readonly rootfs?: string;
  /** Leave /run to the rootfs (no tmpfs there), as runc's own default spec does. */
  readonly noRunTmpfs?: boolean;
  /** Join this network namespace (the spec's namespace path) instead of a new one. */
  readonly netnsPath?: string;
}

/** The berthd a lab's hooks and CLI talk to: its socket, the run dir its tasks' tmpfs live under, its tasks. */
export interface LabBerthd {
  readonly socket: string;
  readonly runDir: string;
  /**
   * A real berthd's state root and CNI config dir: the lab's CLI and hooks share them, as on a host (the firewall
   * plugin registers through berthd only when `<root>/cluster/state.json` says the host is in a cluster; berthd writes
   * the cluster's conflists where `berth run --network` looks).
   */
  readonly root?: string;
  readonly cniConfDir?: string;
  taskIds(): Promise<string[]>;
}

export class HooksLab<Berthd extends LabBerthd = FakeBerthd> {
  readonly host: TestHost;
  readonly dir: string;
  readonly rootfs: string;
  readonly berthd: Berthd;
  /** BERTH_* for the hooks and the CLI. */
  readonly env: Readonly<Record<string, string>>;
  readonly runcRoot: string;

  constructor(host: TestHost, dir: string, rootfs: string, berthd: Berthd) {
    this.host = host;
    this.dir = dir;
    this.rootfs = rootfs;
    this.berthd = berthd;
    this.runcRoot = join(dir, 'runc');
    this.env = {
      BERTH_ROOT: berthd.root ?? join(dir, 'root'), BERTH_RUN_DIR: berthd.runDir, BERTH_SOCKET: berthd.socket,
      BERTH_CNI_CONF_DIR: berthd.cniConfDir ?? join(dir, 'net.d'), BERTH_LOG_LEVEL: 'info',
      // berth run's runtime: berth-runtime, as installed (runc.test.ts and podman.test.ts run the same hooks under
      // runc); BERTH_TEST_RUNTIME=runc runs the berth run scenarios on runc instead.
      BERTH_RUNTIME: process.env['BERTH_TEST_RUNTIME'] ?? join(dirname(berthHookPath), 'berth-runtime'),
    };
  }

  get runDir(): string { return this.env['BERTH_RUN_DIR'] ?? ''; }

  /** The runtimes and --root directories containers of this lab live in: runc's by hand, berth run's. */
  runtimeRoots(): [string, string][] {
    return [['runc', this.runcRoot], [this.env['BERTH_RUNTIME'] ?? 'runc', join(this.runDir, 'runtime')]];
  }
  get root(): string { return this.env['BERTH_ROOT'] ?? ''; }

  /**
   * A command in the test host netns with a clean environment (`env -i`, as an engine's daemon gives; it also keeps
   * tap's process tracking, which re-adds NODE_OPTIONS to every spawn, out of the programs under test) plus the lab's
   * BERTH_* settings.
   */
  exec(argv: readonly string[], extraEnv: Readonly<Record<string, string>> = {}, timeoutMs = 60_000): Promise<ExecResult> {
    const env = Object.entries({ PATH: cleanPath, ...this.env, ...extraEnv }).map(([key, value]) => `${key}=${value}`);
    return this.host.exec(['/usr/bin/env', '-i', ...env, ...argv], { timeoutMs });
  }

  /** `berth-hook STAGE` run by hand with `state` (the OCI state JSON) on stdin, as a runtime runs it. */
  hook(stage: string, state: string): Promise<ExecResult> {
    const env = Object.entries({ PATH: cleanPath, ...this.env }).map(([key, value]) => `${key}=${value}`);
    return this.host.exec(['/usr/bin/env', '-i', ...env, join(runtimeBinDir, 'berth-hook'), stage], { input: state });
  }

  /** `berth ARGS` in the test host netns. */
  berth(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}, timeoutMs = 60_000): Promise<ExecResult> {
    return this.exec([process.execPath, berthCli, ...args], extraEnv, timeoutMs);
  }

  async createNetwork(name: string, subnet: string): Promise<void> {
    const result = await this.berth(['network', 'create', name, '--subnet', subnet]);
    if (result.code !== 0) throw new Error(`berth network create ${name}: ${result.stderr.trim()}`);
  }

  /** Writes a runc bundle (Berth's spec with the hooks) for `id`; returns its directory. */
  bundle(id: string, options: BundleOptions): string {
    const dir = join(this.dir, 'bundles', id);
    mkdirSync(dir, { recursive: true });
    const spec = buildSpec({
      rootfs: options.rootfs ?? this.rootfs, args: options.args, env: [], hostname: id, terminal: false, hostNetwork: options.hostNetwork === true,
      annotations: options.annotations ?? {}, hooks: berthOciHooks({ ...this.env, ...options.hookEnv }),
    });
    if (options.noRunTmpfs === true) spec['mounts'] = (spec['mounts'] as { destination: string }[]).filter((mount) => mount.destination !== '/run');
    const netnsPath = options.netnsPath;
    if (netnsPath !== undefined) {
      const linux = spec['linux'] as { namespaces: { type: string; path?: string }[] };
      linux.namespaces = linux.namespaces.map((entry) => (entry.type === 'network' ? { type: 'network', path: netnsPath } : entry));
    }
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return dir;
  }

  runc(args: readonly string[], timeoutMs = 60_000): Promise<ExecResult> {
    return this.exec(['runc', '--root', this.runcRoot, ...args], {}, timeoutMs);
  }

  /**
   * `runc run -d`: the container keeps the stdio it is given, so it gets a file (never a pipe this process would wait
   * on); resolves with runc's exit code and what it wrote.
   */
  async runcDetached(id: string, bundle: string): Promise<ExecResult> {
    const log = join(this.dir, `${id}.runc.log`);
    const fd = openSync(log, 'w');
    try {
      const child = spawn('nsenter', [`--net=${this.host.path}`, '--', '/usr/bin/env', '-i', `PATH=${cleanPath}`, 'runc', '--root', this.runcRoot, 'run', '-d', '--bundle', bundle, id], {
        stdio: ['ignore', fd, fd],
      });
      const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 128)));
      return { code, stdout: '', stderr: readFileSync(log, 'utf8') };
    } finally {
      closeSync(fd);
    }
  }

  /** Everything of container `id` still present, described; empty when it left nothing. */
  async leftovers(id: string, network?: string): Promise<string[]> {
    const found: string[] = [];
    const state = await this.runc(['state', id]);
    if (state.code === 0) found.push(`runc state: ${state.stdout.trim().slice(0, 120)}`);
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let cmdline = '';
      try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
      if (cmdline.split('\0').includes(id) && !cmdline.includes('runc\0--root')) found.push(`process ${pid}: ${cmdline.replace(/\0/g, ' ').slice(0, 100)}`);
    }
    for (const file of [`hooks/${id}.json`, `hooks/${id}.lock`, `netns/${id}`, `secrets/${id}`]) {
      if (existsSync(join(this.runDir, file))) found.push(`file ${file} in the run dir`);
    }
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const point = line.split(' ')[4] ?? '';
      if (point.startsWith(this.dir) && point.includes(id)) found.push(`mount ${point}`);
    }
    if (network !== undefined) {
      const ipamDir = join(this.root, 'ipam', network);
      for (const name of existsSync(ipamDir) ? readdirSync(ipamDir) : []) {
        if (/[.:]/.test(name) && readFileSync(join(ipamDir, name), 'utf8').includes(id)) found.push(`IPAM reservation ${name}`);
      }
    }
    const endpoints = new FirewallStore(this.root).read().endpoints.filter((endpoint) => endpoint.containerId === id);
    for (const endpoint of endpoints) found.push(`firewall endpoint ${endpoint.namespace}/${endpoint.name}`);
    const ruleset = await this.host.exec(['nft', 'list', 'ruleset']);
    if (ruleset.stdout.includes(id)) found.push('nft rule or element tagged with the container id');
    // berth-bridge's host end: `veth` + 11 hex digits of sha256("<id>/<ifName>").
    const veth = `veth${createHash('sha256').update(`${id}/eth0`).digest('hex').slice(0, 11)}`;
    if ((await settledVeths(this.host, ['ip', 'link', 'show', veth])) !== '') found.push(`veth ${veth} in the host netns`);
    if ((await this.berthd.taskIds()).includes(id)) found.push('task registered with berthd');
    return found;
  }
}

/**
 * What `show` (an `ip link show` of veths) still lists after a bounded wait ('' when nothing): a stopped container's
 * pair goes with its netns, which the kernel tears down asynchronously once the last reference is gone (the hooks'
 * DEL leaves the pair to it, as DEL under runc's poststop does).
 */
export function settledVeths(host: TestHost, show: readonly string[] = ['ip', '-o', 'link', 'show', 'type', 'veth']): Promise<string> {
  return settle(async () => {
    const result = await host.exec(show);
    return result.code === 0 ? result.stdout.trim() : '';
  }, (listed) => listed === '');
}

/** `leftovers` for every container at once (for `berth run`, whose ids are random): anything of any container. */
export async function anyLeftovers(lab: HooksLab<LabBerthd>, network: string): Promise<string[]> {
  const found: string[] = [];
  const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
  for (const sub of ['hooks', 'netns', 'secrets']) for (const name of list(join(lab.runDir, sub))) found.push(`file ${sub}/${name} in the run dir`);
  for (const name of list(join(lab.root, 'containers'))) found.push(`container directory ${name}`);
  for (const name of list(join(lab.root, 'ipam', network)).filter((entry) => /^[0-9a-f:.]+$/i.test(entry) && /[.:]/.test(entry))) found.push(`IPAM reservation ${name}`);
  for (const endpoint of new FirewallStore(lab.root).read().endpoints) found.push(`firewall endpoint ${endpoint.containerId}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4] ?? '';
    if (point.startsWith(`${lab.runDir}/`)) found.push(`mount ${point}`);
  }
  const veths = await settledVeths(lab.host);
  if (veths !== '') found.push(`veths in the host netns: ${veths}`);
  for (const [runtime, root] of lab.runtimeRoots()) {
    const listed = await lab.exec([runtime, '--root', root, 'list', '-q']);
    if (listed.stdout.trim() !== '') found.push(`containers of ${runtime} in ${root}: ${listed.stdout.trim()}`);
  }
  for (const id of await lab.berthd.taskIds()) found.push(`task ${id}`);
  return found;
}

/**
 * Creates a lab whose berthd `startBerthd` starts (after the host netns and temp dir exist); teardown force-deletes
 * the lab's containers while berthd still answers their poststop hooks, then stops berthd, unmounts what is left under
 * the temp dir and removes it.
 */
async function createLab<Berthd extends LabBerthd>(registry: TeardownRegistry, prefix: string,
  startBerthd: (host: TestHost, dir: string) => Promise<{ berthd: Berthd; stop: () => Promise<void> }>): Promise<HooksLab<Berthd>> {
  const host = await TestHost.create(registry, prefix);
  const dir = mkdtempSync(join(tmpdir(), 'bt-hooks-'));
  for (const sub of ['root', 'net.d', 'runc']) mkdirSync(join(dir, sub), { recursive: true });
  let stopBerthd = async (): Promise<void> => undefined;
  let lab: HooksLab<Berthd> | undefined;
  registry.teardown(async () => {
    // Containers left by a failed test: berth run's through `berth rm -f` (which also waits for a detached one's
    // monitor, so nothing writes here after the removal below), then anything in the runtimes' roots (runc by hand);
    // then whatever their hooks still hold (berth-hook gc releases records whose process is gone).
    const listed = await lab?.berth(['ps', '-a', '--output', 'json']);
    for (const { id } of listed?.code === 0 ? JSON.parse(listed.stdout) as { id: string }[] : []) await lab?.berth(['rm', '-f', id]);
    for (const [runtime, root] of lab?.runtimeRoots() ?? []) {
      const listed = await lab?.exec([runtime, '--root', root, 'list', '-q']);
      for (const id of listed?.stdout.split('\n').filter(Boolean) ?? []) await lab?.exec([runtime, '--root', root, 'delete', '--force', id]);
    }
    await lab?.exec([join(runtimeBinDir, 'berth-hook'), 'gc']);
    await stopBerthd();
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
    for (const point of mounts) {
      try { umount2(point, MNT_DETACH); } catch { /* gone already */ }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const rootfs = makeBusyboxRootfs(dir);
  const started = await startBerthd(host, dir);
  stopBerthd = started.stop;
  lab = new HooksLab(host, dir, rootfs, started.berthd);
  return lab;
}

/** A lab with the conformance fake as berthd (tests set its secrets and answers). */
export function createHooksLab(registry: TeardownRegistry, prefix: string): Promise<HooksLab> {
  return createLab(registry, prefix, async (_host, dir) => {
    const berthd = await startFakeBerthd(join(dir, 'berthd.sock'), join(dir, 'run'));
    return { berthd, stop: () => berthd.close() };
  });
}

/**
 * A lab with a real berthd in the test host netns, its own root, socket and run dir under the lab's temp dir (etcd's
 * ports are the netns's own); `initCluster` forms it into a one-host cluster.
 */
export function createClusterLab(registry: TeardownRegistry, prefix: string): Promise<HooksLab<BerthdHost>> {
  return createLab(registry, prefix, async (host, dir) => {
    const berthd = new BerthdHost({ name: 'berthd', netns: host, address: '127.0.0.1', interfaceName: 'lo' }, dir);
    const stop = () => berthd.destroy();
    try {
      await berthd.start();
    } catch (error) {
      await stop();
      throw error;
    }
    return { berthd, stop };
  });
}

/** `berth cluster init` on the lab's berthd; returns what it printed, or fails with the end of berthd's log. */
export async function initCluster(lab: HooksLab<BerthdHost>): Promise<string> {
  const init = await lab.berth(['cluster', 'init'], {}, 180_000);
  if (init.code !== 0) {
    const log = existsSync(lab.berthd.logFile) ? readFileSync(lab.berthd.logFile, 'utf8').trimEnd().split('\n').slice(-5).join('\n') : '';
    throw new Error(`berth cluster init: ${init.stderr.trim()}\nberthd log:\n${log}`);
  }
  return init.stdout;
}
