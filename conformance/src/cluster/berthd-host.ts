import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findEtcdProcesses, terminate, unmountSecretsTmpfs, type ProcessEntry } from '@berth/secrets';
import { callDaemon } from '@berth/runtime';
import type { ClusterHost } from './topology.js';
import { berthScript, berthdScript, cleanEnv } from './paths.js';

export interface ListingHost {
  nodeId: string;
  role: string;
  addresses: string[];
  alive: boolean;
  self: boolean;
  member?: { healthy: boolean; leader: boolean; learner: boolean; raftTerm?: number; raftIndex?: number };
}

/** A berthd running inside a test host's namespace (entered with nsenter, as an engine would be). */
export class BerthdHost {
  readonly host: ClusterHost;
  readonly root: string;
  readonly socket: string;
  /** BERTH_RUN_DIR: containers' secrets tmpfs are mounted under `<runDir>/secrets/` (in the root mount namespace). */
  readonly runDir: string;
  readonly logFile: string;
  /** The CNI config directory berthd writes the cluster's networks to (never the machine's /etc/cni/net.d). */
  readonly cniConfDir: string;
  readonly extraArgs: readonly string[];
  /** Extra environment of berthd (e.g. BERTH_FAILPOINTS for the CNI crash tests). */
  readonly extraEnv: Readonly<Record<string, string>>;
  #process: ChildProcess | undefined;
  #exit: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({ code: null, signal: null });
  #stderr = '';

  constructor(host: ClusterHost, stateDir: string, extraArgs: readonly string[] = [], extraEnv: Readonly<Record<string, string>> = {}) {
    this.host = host;
    this.root = join(stateDir, host.name);
    this.socket = join(stateDir, `${host.name}.sock`);
    this.runDir = join(stateDir, `${host.name}.run`);
    this.logFile = join(stateDir, `${host.name}.log`);
    this.cniConfDir = join(stateDir, `${host.name}.cni`);
    this.extraArgs = extraArgs;
    this.extraEnv = extraEnv;
  }

  get pid(): number | undefined { return this.#process?.pid; }
  /** What berthd printed on stderr since its start (first 10 000 characters). */
  get stderrText(): string { return this.#stderr; }
  get etcdDataDir(): string { return join(this.root, 'etcd', 'data'); }

  async start(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const child = spawn('nsenter', [`--net=${this.host.netns.path}`, '--', '/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath, berthdScript(),
      '--root', this.root, '--socket', this.socket, '--run-dir', this.runDir, '--advertise', this.host.address, '--cni-conf-dir', this.cniConfDir, '--lease-ttl', '3', ...this.extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv({ BERTH_LOG_FILE: this.logFile, BERTH_LOG_LEVEL: 'info', ...this.extraEnv }),
    });
    this.#process = child;
    this.#stderr = '';
    this.#exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`berthd on ${this.host.name} not ready in 30 s: ${this.#stderr}`)), 30_000);
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (this.#stderr.length < 10_000) this.#stderr += chunk;
        if (this.#stderr.includes('berthd: ready')) { clearTimeout(timer); resolve(); }
      });
      void this.#exit.then(({ code }) => { clearTimeout(timer); reject(new Error(`berthd on ${this.host.name} exited (${code}): ${this.#stderr}`)); });
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.#process?.kill(signal);
  }

  exited(): Promise<{ code: number | null; signal: string | null }> {
    return this.#exit;
  }

  /** The `berth` CLI against this host's berthd (a unix socket reaches across network namespaces); `stdin` is its stdin. */
  cli(args: readonly string[], options: { timeoutMs?: number; stdin?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [berthScript(), ...args], { env: cleanEnv({ BERTH_SOCKET: this.socket, BERTH_ROOT: this.root, BERTH_CNI_CONF_DIR: this.cniConfDir }), timeout: options.timeoutMs ?? 180_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      });
      child.stdin?.end(options.stdin ?? '');
    });
  }

  /** One local API call (what the CLI and the OCI hooks send), without a CLI process. */
  api(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    return callDaemon({ socketPath: this.socket, method, path, body, timeoutMs: 60_000 });
  }

  /** The containers this host's berthd holds as tasks. */
  async taskIds(): Promise<string[]> {
    return (await this.api('GET', '/v1/tasks') as { containerId: string }[]).map((task) => task.containerId);
  }

  async cliJson<T>(args: readonly string[], stdin?: string): Promise<T> {
    const result = await this.cli([...args, '--output', 'json'], stdin === undefined ? {} : { stdin });
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} on ${this.host.name} failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as T;
  }

  /** `berth cluster join --token-file -`: the token goes on stdin, never in argv. */
  join<T>(token: string, manager: ClusterHost): Promise<T> {
    return this.cliJson<T>(['cluster', 'join', '--token-file', '-', manager.address], `${token}\n`);
  }

  async hosts(): Promise<ListingHost[]> {
    return (await this.cliJson<{ hosts: ListingHost[] }>(['cluster', 'ls'])).hosts;
  }

  /** This host's node id, from its own state file (no CLI round trip). */
  async nodeId(): Promise<string> {
    const state = JSON.parse(await readFile(join(this.root, 'cluster', 'state.json'), 'utf8')) as { nodeId?: unknown };
    if (typeof state.nodeId !== 'string') throw new Error(`No node id in ${this.root}`);
    return state.nodeId;
  }

  etcdProcesses(): Promise<ProcessEntry[]> {
    return findEtcdProcesses(this.etcdDataDir);
  }

  /** Teardown: SIGKILL berthd and any etcd on its data dir. */
  async destroy(): Promise<void> {
    if (this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.kill('SIGKILL');
      await this.#exit;
    }
    for (const orphan of await this.etcdProcesses()) await terminate(orphan, 5_000);
    for (const container of await readdir(join(this.runDir, 'secrets')).catch(() => [])) await unmountSecretsTmpfs(join(this.runDir, 'secrets', container));
  }
}
