/**
 * containerd with its CRI plugin as a real engine, driven as the kubelet drives it: a throwaway containerd (its own
 * config, root, state and socket; native snapshotter, runc with cgroupfs, restrict_oom_score_adj as these machines
 * need) started inside a test host netns with nsenter, a CNI config dir holding one conflist, a CNI bin dir as a
 * node has one (Berth's plugins beside the reference `loopback`, which the CRI plugin always runs), and a sandbox image
 * built from busybox-static and imported (no registry). Teardown stops and removes every pod it ran, stops
 * containerd, unmounts what it left and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { execChecked, execCommand, type TeardownRegistry, type TestNetns } from '../harness/index.js';
import { CriClient, type PodSandboxConfig, type PodSandboxStatus } from './cri-client.js';
import { buildPauseImage, pauseImageName } from './pause-image.js';

export const containerdReadyMsMax = 30_000;
const shimSocketDir = '/run/containerd/s';
const containerdStopMsMax = 15_000;

export interface ContainerdSandboxOptions {
  /** Directories whose executables make up the CRI plugin's single bin_dir (symlinks; the first of a name wins). */
  readonly pluginDirs: readonly string[];
  /** The network the pods get, written as the only conflist in the CRI plugin's conf_dir. */
  readonly conflist: (ipamDir: string) => Record<string, unknown>;
  /** containerd's own extra environment, which the CNI plugins inherit (BERTH_SOCKET: see modes.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

/** One directory of symlinks to the executables of `dirs`, as a node's /opt/cni/bin gathers plugins of several origins. */
function gatherPlugins(target: string, dirs: readonly string[]): void {
  mkdirSync(target, { recursive: true });
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') || existsSync(join(target, name))) continue;
      symlinkSync(join(dir, name), join(target, name));
    }
  }
}

function containerdConfig(dir: string, pluginDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'root'))}`,
    `state = ${JSON.stringify(join(dir, 'state'))}`,
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '[grpc]',
    `  address = ${JSON.stringify(join(dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(join(dir, 'containerd.sock.ttrpc'))}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(dir, 'opt'))}`,
    `[${cri}]`,
    `  sandbox_image = ${JSON.stringify(pauseImageName)}`,
    '  restrict_oom_score_adj = true',
    '  disable_apparmor = true',
    '  netns_mounts_under_state_dir = true',
    `[${cri}.cni]`,
    `  bin_dir = ${JSON.stringify(pluginDir)}`,
    `  conf_dir = ${JSON.stringify(join(dir, 'net.d'))}`,
    '  max_conf_num = 1',
    `[${cri}.containerd]`,
    '  snapshotter = "native"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${JSON.stringify(join(dir, 'runc'))}`,
    '',
  ].join('\n');
}

/** The pod's network namespace path, from containerd's verbose PodSandboxStatus info (its OCI runtime spec). */
export function podNetnsPath(info: Readonly<Record<string, string>>): string {
  const parsed = JSON.parse(info['info'] ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
  const path = parsed.runtimeSpec?.linux?.namespaces?.find((namespace) => namespace.type === 'network')?.path;
  if (path === undefined || path === '') throw new Error('containerd\'s sandbox info names no network namespace');
  return path;
}

export class ContainerdSandbox {
  readonly dir: string;
  readonly host: TestNetns;
  readonly ipamDir: string;
  readonly socket: string;
  readonly #process: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #pods = new Set<string>();
  #cri: CriClient | undefined;

  constructor(dir: string, host: TestNetns, child: ChildProcess) {
    this.dir = dir;
    this.host = host;
    this.ipamDir = join(dir, 'ipam');
    this.socket = join(dir, 'containerd.sock');
    this.#process = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get cri(): CriClient {
    this.#cri ??= new CriClient(this.socket);
    return this.#cri;
  }

  /** `ctr ARGS…` against this containerd, in the CRI plugin's namespace. */
  ctr(args: readonly string[]): Promise<string> {
    return execChecked(['ctr', '--address', this.socket, '--namespace', 'k8s.io', ...args], { timeoutMs: 60_000 });
  }

  /** The log so far (for failure messages). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'containerd.log'), 'utf8').slice(-4_000);
    } catch {
      return '';
    }
  }

  async waitReady(): Promise<void> {
    const deadline = Date.now() + containerdReadyMsMax;
    for (;;) {
      try {
        await this.cri.version();
        return;
      } catch (error) {
        if (Date.now() > deadline || this.#process.exitCode !== null) {
          throw new Error(`containerd not ready in ${containerdReadyMsMax} ms: ${String(error)}\n${this.log()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async runPod(config: PodSandboxConfig): Promise<{ id: string; status: PodSandboxStatus; netns: string }> {
    const id = await this.cri.runPodSandbox(config);
    this.#pods.add(id);
    const { status, info } = await this.cri.podSandboxStatus(id);
    return { id, status, netns: podNetnsPath(info) };
  }

  /** As the kubelet tears a pod down: StopPodSandbox (CNI DEL), then RemovePodSandbox. */
  async removePod(id: string): Promise<void> {
    await this.cri.stopPodSandbox(id);
    await this.cri.removePodSandbox(id);
    this.#pods.delete(id);
  }

  /** The resolv.conf containerd wrote for a sandbox. */
  resolvConf(id: string): string {
    return readFileSync(join(this.dir, 'root', 'io.containerd.grpc.v1.cri', 'sandboxes', id, 'resolv.conf'), 'utf8');
  }

  async destroy(): Promise<void> {
    for (const id of [...this.#pods]) await this.removePod(id).catch(() => undefined);
    this.#cri?.close();
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.kill('SIGTERM');
      const stopped = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), containerdStopMsMax))]);
      if (!stopped) {
        this.#process.kill('SIGKILL');
        await this.#exited;
      }
    }
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '')
      .filter((path) => path.startsWith(`${this.dir}/`)).sort((a, b) => b.length - a.length);
    for (const path of mounts) await execCommand(['umount', '-l', path]);
    rmSync(this.dir, { recursive: true, force: true });
    // containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir; remove what is left empty.
    for (const path of [shimSocketDir, dirname(shimSocketDir)]) {
      try { rmdirSync(path); } catch { /* not empty (another containerd's) or already gone */ }
    }
  }
}

/**
 * Starts containerd in `host`'s netns with the conflist and the sandbox image in place; `registry` tears it down
 * (pods first) even when the test fails.
 */
export async function createContainerdSandbox(registry: TeardownRegistry, host: TestNetns, options: ContainerdSandboxOptions): Promise<ContainerdSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-ctrd-'));
  for (const sub of ['root', 'state', 'opt', 'net.d', 'ipam', 'image']) mkdirSync(join(dir, sub), { recursive: true });
  gatherPlugins(join(dir, 'cni-bin'), options.pluginDirs);
  writeFileSync(join(dir, 'config.toml'), containerdConfig(dir, join(dir, 'cni-bin')));
  const conflist = options.conflist(join(dir, 'ipam'));
  writeFileSync(join(dir, 'net.d', `10-${String(conflist['name'])}.conflist`), JSON.stringify(conflist, null, 2));
  const log = openSync(join(dir, 'containerd.log'), 'a');
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(name)));
  const child = spawn('nsenter', [`--net=${host.path}`, '--', 'containerd', '--config', join(dir, 'config.toml')], {
    env: { ...env, ...options.env }, stdio: ['ignore', log, log],
  });
  closeSync(log);
  const sandbox = new ContainerdSandbox(dir, host, child);
  registry.teardown(() => sandbox.destroy());
  await sandbox.waitReady();
  const image = await buildPauseImage(join(dir, 'image'));
  await sandbox.ctr(['images', 'import', '--snapshotter', 'native', image]);
  return sandbox;
}
