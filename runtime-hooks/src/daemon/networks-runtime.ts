import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@berth/cni';
import type { ClusterNode } from '@berth/secrets';
import { berthPluginDir } from '../networks/conf-dir.js';
import type { Sample } from './metrics.js';
import { NetworkSync } from './networks/network-sync.js';

/** Back-off ceiling between start attempts while the store is unreachable. */
export const networksStartBackoffMsMax = 5_000;

/**
 * berthd's networks service, following membership as the secrets service does: while this host is in a cluster it
 * runs a NetworkSync (cluster networks → conflists, leased overlays → subnet lease and peer entries). `sync()` runs
 * after start and after each init/join/leave; a first start that cannot reach the store is retried in the
 * background, never holding up berthd.
 */
export class NetworksRuntime {
  readonly #node: ClusterNode;
  readonly #confDir: string;
  readonly #root: string;
  readonly #logger: Logger;
  #sync: NetworkSync | undefined;
  #target: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(node: ClusterNode, options: { confDir: string; root: string; logger: Logger }) {
    this.#node = node;
    this.#confDir = options.confDir;
    this.#root = options.root;
    this.#logger = options.logger;
  }

  get confDir(): string { return this.#confDir; }

  /** What the CNI plugins served here see (their IPAM stores live under this berthd's root). */
  get pluginEnv(): NodeJS.ProcessEnv { return { BERTH_ROOT: this.#root }; }

  /** The running sync, for the API (undefined outside a cluster or while it starts). */
  get current(): NetworkSync | undefined { return this.#sync; }

  metrics(): Sample[] {
    return this.#sync?.metrics() ?? [];
  }

  async sync(): Promise<void> {
    const active = this.#node.active;
    const target = active?.state.nodeId;
    if (target === this.#target) return;
    this.#target = target;
    await this.#serial(() => this.#stop({ leaving: active === undefined }));
    if (target !== undefined) void this.#startWithRetries(target);
  }

  stop(): Promise<void> {
    this.#target = undefined;
    return this.#serial(() => this.#stop({ leaving: false }));
  }

  async #startWithRetries(target: string): Promise<void> {
    for (let attempt = 1; this.#target === target && this.#sync === undefined; attempt += 1) {
      try {
        await this.#serial(async () => {
          const active = this.#node.active;
          if (this.#target !== target || active === undefined || this.#sync !== undefined) return;
          const sync = new NetworkSync({ active, hostname: this.#node.options.hostname, confDir: this.#confDir, available: availablePlugins(), logger: this.#logger });
          try {
            await sync.start();
          } catch (error) {
            await sync.stop({ leaving: false });
            throw error;
          }
          this.#sync = sync;
        });
      } catch (error) {
        this.#logger.warn({ err: error instanceof Error ? error.message : String(error), attempt }, 'networks: cannot follow the cluster yet; retrying');
        await sleep(Math.min(networksStartBackoffMsMax, 250 * attempt));
      }
    }
  }

  async #stop(options: { leaving: boolean }): Promise<void> {
    const sync = this.#sync;
    this.#sync = undefined;
    await sync?.stop(options);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function availablePlugins(): Set<string> {
  const dir = berthPluginDir();
  return new Set(['berth-portmap', 'berth-firewall'].filter((type) => existsSync(join(dir, type))));
}
