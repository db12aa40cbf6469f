/**
 * One host's enforcement of the cluster's policies while it is a member: a FirewallEngine in berthd's own network
 * namespace (the host's, where the bridges and the pods' host-side links are), fed by watches of policies/ and
 * endpoints/.
 *
 * - Open: list both prefixes, take the namespace over with one full transaction (a restarted berthd replaces what
 *   the last one left atomically), then watch each prefix from its listing's revision + 1. Each watch response is
 *   one engine batch, so one store transaction (a multi-document apply) is one kernel transaction.
 * - Store lost (a probe read fails or times out): events are ignored and the kernel keeps the last state (status
 *   and metrics say since when). Store back: list, one full resync — the table jumps from the last state to the
 *   current one atomically, never through the states in between.
 * - The watches live as long as the session (the etcd3 client resumes them after a reconnect; re-creating watches
 *   on one client while others are cancelled lost events here). A resync moves each stream's applied revision to
 *   its listing's; events at or below it are already in the table and are dropped.
 * - Close: the table stays in the kernel, enforcing (fail closed), as it does if berthd dies.
 */
import { createLogger, type Logger } from '@berth/cni';
import { FirewallEngine, type EngineResult } from '@berth/firewall';
import { toRevision, type KeyValue, type KvStore, type Revision, type WatchEvent, type WatchHandle } from '@berth/secrets';
import { endpointsPrefix, policiesPrefix, policySettingsCollection, settingsId } from './schema.js';
import { PolicyView } from './view.js';

export interface PolicySessionLimits {
  /** How often the store is probed while reachable (and retried while not). */
  readonly storeProbeIntervalMs: number;
  /** A probe read slower than this counts as a lost store. */
  readonly storeProbeTimeoutMs: number;
}

export const policySessionLimitsDefault: PolicySessionLimits = { storeProbeIntervalMs: 1_000, storeProbeTimeoutMs: 2_000 };

export type Stream = 'policies' | 'endpoints';

interface Waiter {
  readonly stream: Stream;
  readonly revision: Revision;
  readonly resolve: (applied: boolean) => void;
}

export interface SessionStats {
  readonly updates: Record<EngineResult['mode'], number>;
  readonly failures: number;
  readonly storeLosses: number;
  readonly lastApplyMs: number;
}

export class PolicySession {
  readonly nodeId: string;
  readonly #kv: KvStore;
  readonly #logger: Logger;
  readonly #limits: PolicySessionLimits;
  readonly #engine: FirewallEngine;
  readonly #view: PolicyView;
  readonly #applied: Record<Stream, Revision>;
  #watches: WatchHandle[] = [];
  /** While a resync lists the store: the events that arrive meanwhile. */
  #held: Record<Stream, WatchEvent[]> | undefined;
  /** A watch resynced (after a compaction) while a resync was listing: list again once it is done. */
  #relist = false;
  /** Resyncs run one after the other. */
  #resyncs: Promise<unknown> = Promise.resolve();
  #waiters: Waiter[] = [];
  #reachable = true;
  #unreachableSince: Date | null = null;
  #lastSyncAt = new Date();
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;
  readonly stats = { updates: { full: 0, incremental: 0, unchanged: 0 }, failures: 0, storeLosses: 0, lastApplyMs: 0 };

  private constructor(options: { nodeId: string; kv: KvStore; logger: Logger; limits: PolicySessionLimits; engine: FirewallEngine; view: PolicyView; revisions: Record<Stream, Revision> }) {
    this.nodeId = options.nodeId;
    this.#kv = options.kv;
    this.#logger = options.logger;
    this.#limits = options.limits;
    this.#engine = options.engine;
    this.#view = options.view;
    this.#applied = { ...options.revisions };
  }

  static async open(options: { nodeId: string; kv: KvStore; logger?: Logger; limits?: Partial<PolicySessionLimits>; netns?: string }): Promise<PolicySession> {
    const limits = { ...policySessionLimitsDefault, ...options.limits };
    for (const [name, value] of Object.entries(limits)) if (!Number.isInteger(value) || value <= 0) throw new RangeError(`policy limit ${name} must be a positive integer`);
    const view = new PolicyView();
    const [policies, endpoints] = await Promise.all([options.kv.list(policiesPrefix), options.kv.list(endpointsPrefix)]);
    view.loadPolicies(policies.kvs);
    view.loadEndpoints(endpoints.kvs);
    const { engine, result } = FirewallEngine.start(view.snapshot(), options.netns === undefined ? {} : { netns: options.netns });
    const session = new PolicySession({
      nodeId: options.nodeId, kv: options.kv, logger: options.logger ?? createLogger('policy'), limits, engine, view,
      revisions: { policies: policies.revision, endpoints: endpoints.revision },
    });
    session.#count(result);
    session.#watch();
    session.#probe = setInterval(() => void session.#checkStore(), limits.storeProbeIntervalMs);
    session.#logger.info({ documents: view.documentCount, endpoints: view.endpointCount, generation: result.generation, ms: result.timings.totalMs }, 'policy: enforcing the cluster\'s policies');
    return session;
  }

  get view(): PolicyView { return this.#view; }
  get engine(): FirewallEngine { return this.#engine; }
  get storeReachable(): boolean { return this.#reachable; }
  get unreachableSince(): Date | null { return this.#unreachableSince; }
  get lastSyncAt(): Date { return this.#lastSyncAt; }
  applied(stream: Stream): Revision { return this.#applied[stream]; }

  /** Resolves true once this host's kernel enforces the stream up to `revision`, false after `timeoutMs`. */
  waitApplied(stream: Stream, revision: Revision, timeoutMs: number): Promise<boolean> {
    if (this.#applied[stream] >= revision) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const waiter: Waiter = { stream, revision, resolve: (applied) => finish(applied) };
      const finish = (applied: boolean): void => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((item) => item !== waiter);
        resolve(applied);
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * A full resync from a fresh listing: the table is replaced in one transaction. Events that arrive while the
   * listing is on its way are held, then those newer than the listing are applied after it.
   */
  resync(): Promise<EngineResult> {
    const run = this.#resyncs.then(() => this.#resyncNow());
    this.#resyncs = run.catch(() => undefined);
    return run;
  }

  async #resyncNow(): Promise<EngineResult> {
    const held: Record<Stream, WatchEvent[]> = { policies: [], endpoints: [] };
    this.#held = held;
    this.#relist = false;
    try {
      const [policies, endpoints] = await Promise.all([this.#kv.list(policiesPrefix), this.#kv.list(endpointsPrefix)]);
      if (this.#closed) throw new Error('policy session closed');
      this.#view.loadPolicies(policies.kvs);
      this.#view.loadEndpoints(endpoints.kvs);
      const result = this.#engine.resync(this.#view.snapshot());
      this.#count(result);
      this.#applied.policies = policies.revision;
      this.#applied.endpoints = endpoints.revision;
      this.#held = undefined;
      this.#onEvents('policies', held.policies);
      this.#onEvents('endpoints', held.endpoints);
      this.#advance('policies', policies.revision);
      this.#advance('endpoints', endpoints.revision);
      if (this.#relist) void this.resync().catch((error: unknown) => this.#logger.warn({ err: String(error) }, 'policy: resync after a compaction failed'));
      return result;
    } finally {
      if (this.#held === held) this.#held = undefined;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    await this.#unwatch();
    for (const waiter of [...this.#waiters]) waiter.resolve(false);
    this.#engine.close();
  }

  #watch(): void {
    const streams: Array<[Stream, string, (kvs: readonly KeyValue[]) => void]> = [
      ['policies', policiesPrefix, (kvs) => this.#view.loadPolicies(kvs)],
      ['endpoints', endpointsPrefix, (kvs) => this.#view.loadEndpoints(kvs)],
    ];
    this.#watches = streams.map(([stream, prefix, load]) => this.#kv.watch(prefix, {
      fromRevision: toRevision(this.#applied[stream] + 1),
      onEvents: (batch) => {
        if (this.#held !== undefined) this.#held[stream].push(...batch);
        else if (this.#reachable) this.#onEvents(stream, batch);
      },
      onResync: (kvs, revision) => {
        if (this.#held !== undefined) this.#relist = true;
        if (this.#held !== undefined || !this.#reachable || revision <= this.#applied[stream]) return;
        load(kvs);
        this.#apply(() => this.#engine.resync(this.#view.snapshot()));
        this.#advance(stream, revision);
      },
    }));
  }

  /** Events at or below the stream's applied revision are already in the table (a resync listed them). */
  #onEvents(stream: Stream, batch: readonly WatchEvent[]): void {
    const events = batch.filter((event) => event.modRevision > this.#applied[stream]);
    if (events.length === 0) return;
    const toEvents = stream === 'policies' ? (items: readonly WatchEvent[]) => this.#view.policyEvents(items) : (items: readonly WatchEvent[]) => this.#view.endpointEvents(items);
    this.#apply(() => this.#engine.apply(toEvents(events)));
    this.#advance(stream, events.reduce((max, event) => (event.modRevision > max ? event.modRevision : max), this.#applied[stream]));
  }

  async #unwatch(): Promise<void> {
    const watches = this.#watches;
    this.#watches = [];
    await Promise.all(watches.map((watch) => watch.close()));
  }

  /** Engine failures are logged and counted; the engine itself resyncs in full at its next change. */
  #apply(run: () => EngineResult): void {
    try {
      this.#count(run());
    } catch (error) {
      this.stats.failures += 1;
      this.#logger.error({ err: error instanceof Error ? error.message : String(error) }, 'policy: cannot enforce a change; the next one resyncs in full');
    }
  }

  #count(result: EngineResult): void {
    this.stats.updates[result.mode] += 1;
    if (result.mode !== 'unchanged') this.stats.lastApplyMs = result.timings.totalMs;
  }

  #advance(stream: Stream, revision: Revision): void {
    if (revision <= this.#applied[stream]) return;
    this.#applied[stream] = revision;
    this.#lastSyncAt = new Date();
    for (const waiter of this.#waiters.filter((item) => item.stream === stream && item.revision <= revision)) waiter.resolve(true);
  }

  async #checkStore(): Promise<void> {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    try {
      await this.#probeRead();
      if (!this.#reachable) {
        await this.resync();
        this.#logger.info({ since: this.#unreachableSince?.toISOString() }, 'policy: the store is back; resynced');
        this.#reachable = true;
        this.#unreachableSince = null;
      }
      this.#lastSyncAt = new Date();
    } catch (error) {
      if (this.#reachable) {
        this.#reachable = false;
        this.#unreachableSince = new Date();
        this.stats.storeLosses += 1;
        this.#logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'policy: the store is unreachable; enforcing the last state');
      }
    } finally {
      this.#probing = false;
    }
  }

  #probeRead(): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the store within ${this.#limits.storeProbeTimeoutMs} ms`)), this.#limits.storeProbeTimeoutMs);
    });
    return Promise.race([this.#kv.get(policySettingsCollection.key(settingsId)), timeout]).finally(() => clearTimeout(timer));
  }
}
