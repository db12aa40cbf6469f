/**
 * The two ways Berth's CNI executables run, as a parameter of the CNI suites: `berthd` (the shim forwards every call
 * to a berthd, which runs the plugin in-process) and `exec` (no berthd: the shim execs the bundled Node plugin). The
 * berthd runs in a network namespace of its own, never the callers' (test hosts), so a host side made in berthd's
 * namespace instead of the caller's would show, and after each use the suite checks that every call was served.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { BerthdHost } from '../cluster/berthd-host.js';
import { TestHost, type TeardownRegistry, type TestNetns } from '../harness/index.js';

export type CniMode = 'berthd' | 'exec';
export const cniModes: readonly CniMode[] = ['berthd', 'exec'];

export interface CniServedStats {
  readonly served: Readonly<Record<string, number>>;
  readonly declined: Readonly<Record<string, number>>;
  readonly abandoned: number;
}

/** A berthd for CNI calls: its own netns, state root and socket, removed in teardown. */
export class CniBerthd {
  readonly netns: TestNetns;
  readonly #registry: TeardownRegistry;
  readonly #stateDir: string;
  #daemon: BerthdHost;

  private constructor(netns: TestNetns, registry: TeardownRegistry, stateDir: string, daemon: BerthdHost) {
    this.netns = netns;
    this.#registry = registry;
    this.#stateDir = stateDir;
    this.#daemon = daemon;
  }

  /** `env`: berthd's own extra environment (BERTH_FAILPOINTS for crash tests). */
  static async start(registry: TeardownRegistry, env: Readonly<Record<string, string>> = {}): Promise<CniBerthd> {
    const host = await TestHost.create(registry, 'berthd');
    const stateDir = await mkdtemp(join(tmpdir(), 'bt-cni-berthd-'));
    registry.teardown(() => rm(stateDir, { recursive: true, force: true }));
    const berthd = new CniBerthd(host, registry, stateDir, CniBerthd.#daemonFor(host, registry, stateDir, env));
    await berthd.#daemon.start();
    return berthd;
  }

  static #daemonFor(netns: TestNetns, registry: TeardownRegistry, stateDir: string, env: Readonly<Record<string, string>>): BerthdHost {
    const daemon = new BerthdHost({ name: 'berthd', netns, address: '127.0.0.1', interfaceName: 'lo' }, stateDir, [], env);
    registry.teardown(() => daemon.destroy());
    return daemon;
  }

  get socket(): string {
    return this.#daemon.socket;
  }

  /** Whether the process exits within `withinMs` (a failpoint SIGKILLs it). */
  async exits(withinMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), withinMs); });
    const exited = await Promise.race([this.#daemon.exited().then(() => true), timeout]);
    clearTimeout(timer);
    return exited;
  }

  /** Stops this berthd (SIGKILL if still running) and starts a new one on the same root and socket with `env`. */
  async restart(env: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.#daemon.destroy();
    this.#daemon = CniBerthd.#daemonFor(this.netns, this.#registry, this.#stateDir, env);
    await this.#daemon.start();
  }

  /** SIGKILL, as a crash; resolves when it is gone. */
  async kill(): Promise<void> {
    this.#daemon.kill('SIGKILL');
    await this.#daemon.exited();
  }

  /** SIGSTOP / SIGCONT: a hung berthd. */
  pause(paused: boolean): void {
    this.#daemon.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** GET /v1/cni/stats over the socket. */
  stats(): Promise<CniServedStats> {
    return new Promise((resolve, reject) => {
      const request = get({ socketPath: this.socket, path: '/v1/cni/stats', timeout: 10_000 }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { body += chunk; });
        response.on('end', () => {
          try {
            resolve(JSON.parse(body) as CniServedStats);
          } catch (error) {
            reject(new Error(`berthd's /v1/cni/stats answered ${response.statusCode ?? 0}: ${body.slice(0, 200)}`, { cause: error }));
          }
        });
      });
      request.on('timeout', () => request.destroy(new Error('berthd did not answer /v1/cni/stats within 10 s')));
      request.on('error', reject);
    });
  }

  /** The environment callers (engines) give the shim to reach this berthd. */
  get callerEnv(): Record<string, string> {
    return { BERTH_SOCKET: this.socket };
  }
}

/** The total of a stats map (served or declined). */
export function totalCalls(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** The environment that makes the shim fall back to exec: a socket path where nothing listens. */
export async function execModeEnv(registry: TeardownRegistry): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-cni-exec-'));
  registry.teardown(() => rm(dir, { recursive: true, force: true }));
  return { BERTH_SOCKET: join(dir, 'absent.sock') };
}
