/**
 * FirewallEngine: the long-lived firewall of one network namespace, as berthd hosts it. It keeps the
 * documents, the endpoints and the compiled table in memory (FirewallCompiler) and one libnftables context
 * open, and keeps the kernel in step with events, each batch of events as one transaction of element adds and
 * deletes (renderDelta); `resync(snapshot)` replaces the table's whole content in one transaction.
 *
 * Events come from whoever owns the truth: a store watch in a cluster (a snapshot at start and after a
 * compaction, then puts and deletes), or the state files without one. The engine persists nothing: the event
 * source is durable, and after a restart the engine is rebuilt from it with `resync`, which swaps the table
 * atomically, so an isolated pod is never reachable in between. The kernel table is not owned by the process:
 * if it dies, the rules stay as they were (fail closed), and `close()` leaves them too.
 *
 * Consistency: memory follows the events (the desired state); the kernel follows when it accepts the
 * transaction. Every delta deletes the old generation element and adds the new one, so a delta computed
 * against a table someone else changed aborts whole; the engine then rebuilds the table in full from memory.
 * If even that fails (the namespace is gone), the error is thrown and the next event resyncs first.
 */
import { createLogger } from '@berth/cni';
import { FirewallCompiler, type FirewallSnapshot } from '../compile/compiler.js';
import { renderDelta } from '../compile/delta.js';
import type { CompiledFirewall } from '../compile/ir.js';
import { libnftablesBackend, type NftBackend, type NftBackendFactory } from '../enforce/backend.js';
import { namedHits, type MonitorHit } from '../enforce/monitor-hits.js';
import { countElements, KernelTable, nextGeneration, type ActionCounter, type NftTimings } from '../enforce/table.js';
import { FirewallCode, FirewallError } from '../errors.js';
import { parseAddress } from '../model/address.js';
import type { Endpoint, PolicyDocument } from '../model/types.js';

const log = createLogger('firewall-engine');

export type EngineEvent =
  | { readonly kind: 'applyDocuments'; readonly documents: readonly PolicyDocument[] }
  /** Idempotent: keys that are not there are ignored (a watch may replay a delete). */
  | { readonly kind: 'removeDocuments'; readonly keys: readonly string[] }
  | { readonly kind: 'setMonitor'; readonly monitor: boolean }
  /** Replaces an endpoint with the same NAMESPACE/NAME and any claiming one of its addresses. */
  | { readonly kind: 'upsertEndpoint'; readonly endpoint: Endpoint }
  /** Idempotent, by NAMESPACE/NAME. */
  | { readonly kind: 'removeEndpoint'; readonly key: string };

/**
 * Where the time of one change went, in milliseconds: the incremental compile (events applied to the state and
 * the table in memory), rendering the change log (or the full table) as libnftables JSON commands, and the
 * libnftables call (JSON encoding and parsing, evaluation, netlink, the kernel's commit; see NftTimings).
 */
export interface EngineTimings extends NftTimings {
  readonly compileMs: number;
  readonly renderMs: number;
  readonly totalMs: number;
}

export interface EngineResult {
  readonly mode: 'full' | 'incremental' | 'unchanged';
  readonly generation: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  readonly commands: number;
  /** Why a delta became a full resync, when it did. */
  readonly fallbackReason: string | null;
  readonly timings: EngineTimings;
}

export interface FirewallEngineOptions {
  /** Path of the network namespace to enforce in; default: the one the process runs in. */
  readonly netns?: string;
  readonly backend?: NftBackendFactory;
}

const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Bad input is rejected before anything changes. */
function checkEvents(events: readonly EngineEvent[]): void {
  for (const event of events) {
    if (event.kind !== 'upsertEndpoint') continue;
    const { endpoint } = event;
    const invalid = endpoint.ips.find((ip) => parseAddress(ip) === null);
    if (invalid !== undefined) {
      throw new FirewallError(FirewallCode.InvalidDocument, `endpoint ${endpoint.namespace}/${endpoint.name}: invalid address ${invalid}`);
    }
  }
}

export class FirewallEngine {
  #compiler = new FirewallCompiler();
  readonly #backend: NftBackend;
  readonly #table: KernelTable;
  readonly #where: string;
  #generation: number | null = null;
  /** False until the first resync, and after a failed transaction: the next change resyncs in full. */
  #inSync = false;

  constructor(options: FirewallEngineOptions = {}) {
    this.#where = options.netns ?? 'the current network namespace';
    try {
      this.#backend = (options.backend ?? libnftablesBackend)(options.netns);
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot open nftables in ${this.#where}: ${describe(error)}`, { cause: error });
    }
    this.#table = new KernelTable(this.#backend, this.#where);
  }

  /** A new engine that takes over the namespace from `snapshot` with one full transaction. */
  static start(snapshot: FirewallSnapshot, options: FirewallEngineOptions = {}): { engine: FirewallEngine; result: EngineResult } {
    const engine = new FirewallEngine(options);
    try {
      return { engine, result: engine.resync(snapshot) };
    } catch (error) {
      engine.close();
      throw error;
    }
  }

  get inSync(): boolean {
    return this.#inSync;
  }

  get generation(): number | null {
    return this.#generation;
  }

  /** A live view of the compiled table (valid until the next change). */
  compiled(): CompiledFirewall {
    return this.#compiler.compiled();
  }

  /** The state the engine enforces, as a snapshot (what `resync` takes). */
  snapshot(): FirewallSnapshot {
    return { documents: this.#compiler.documents, endpoints: this.#compiler.endpoints, monitor: this.#compiler.monitor };
  }

  /** Replaces the whole state and the table's whole content, in one transaction. */
  resync(snapshot: FirewallSnapshot): EngineResult {
    const started = process.hrtime.bigint();
    // A fresh compiler: loading from scratch costs less than tearing the old state down change by change.
    const compiler = new FirewallCompiler();
    compiler.load(snapshot);
    this.#compiler = compiler;
    return this.#full(started, elapsedMs(started), 'resync requested');
  }

  /** Applies the events in order, in memory, then to the kernel as one transaction. */
  apply(events: readonly EngineEvent[]): EngineResult {
    const started = process.hrtime.bigint();
    checkEvents(events);
    for (const event of events) this.#event(event);
    const compileMs = elapsedMs(started);
    if (!this.#inSync || this.#generation === null) return this.#full(started, compileMs, 'the table is not known to be in step');
    const rendering = process.hrtime.bigint();
    const from = this.#generation;
    const to = nextGeneration(from);
    const { script, stats } = renderDelta(this.#compiler.takeChanges(), this.#compiler.compiled(), { from, to });
    const renderMs = elapsedMs(rendering);
    if (script.nftables.length === 2) {
      return {
        mode: 'unchanged', generation: from, elementsAdded: 0, elementsDeleted: 0, commands: 0, fallbackReason: null,
        timings: { compileMs, renderMs, nftMs: 0, nftUserMs: 0, nftSystemMs: 0, totalMs: elapsedMs(started) },
      };
    }
    try {
      const nft = this.#table.run(script, 'incremental update');
      this.#generation = to;
      return {
        mode: 'incremental', generation: to, ...stats, commands: script.nftables.length, fallbackReason: null,
        timings: { compileMs, renderMs, ...nft, totalMs: elapsedMs(started) },
      };
    } catch (error) {
      log.warn({ error: describe(error), netns: this.#where }, 'incremental firewall update rejected; resyncing');
      return this.#full(started, compileMs, `incremental update rejected: ${describe(error)}`);
    }
  }

  applyDocuments(documents: readonly PolicyDocument[]): EngineResult {
    return this.apply([{ kind: 'applyDocuments', documents }]);
  }

  removeDocuments(keys: readonly string[]): EngineResult {
    return this.apply([{ kind: 'removeDocuments', keys }]);
  }

  setMonitor(monitor: boolean): EngineResult {
    return this.apply([{ kind: 'setMonitor', monitor }]);
  }

  upsertEndpoint(endpoint: Endpoint): EngineResult {
    return this.apply([{ kind: 'upsertEndpoint', endpoint }]);
  }

  removeEndpoint(key: string): EngineResult {
    return this.apply([{ kind: 'removeEndpoint', key }]);
  }

  /** Drop and monitor counters per action chain. */
  counters(): ActionCounter[] {
    return this.#table.counters([...this.#compiler.compiled().actions.keys()]);
  }

  /** The recent would-be drops of monitor chains (addresses, protocol, port, age), newest first. */
  monitorHits(): MonitorHit[] {
    return namedHits(this.#table.monitorHits(), this.#compiler.compiled().actions.keys());
  }

  /** Closes the libnftables context. The table stays in the kernel, enforcing (fail closed). */
  close(): void {
    this.#backend.close();
  }

  #event(event: EngineEvent): void {
    switch (event.kind) {
      case 'applyDocuments':
        this.#compiler.applyDocuments(event.documents);
        return;
      case 'removeDocuments': {
        const keys = event.keys.filter((key) => this.#compiler.hasDocument(key));
        if (keys.length > 0) this.#compiler.removeDocuments(keys);
        return;
      }
      case 'setMonitor':
        this.#compiler.setMonitor(event.monitor);
        return;
      case 'upsertEndpoint':
        this.#compiler.upsertEndpoint(event.endpoint);
        return;
      case 'removeEndpoint':
        this.#compiler.removeEndpoint(event.key);
        return;
    }
  }

  #full(started: bigint, compileMs: number, reason: string): EngineResult {
    this.#compiler.takeChanges();
    const rendering = process.hrtime.bigint();
    const compiled = this.#compiler.compiled();
    const generation = nextGeneration(this.#table.generation() ?? this.#generation);
    const script = this.#table.fullScript(compiled, generation);
    const renderMs = elapsedMs(rendering);
    try {
      const nft = this.#table.run(script, 'full resync');
      this.#generation = generation;
      this.#inSync = true;
      return {
        mode: 'full', generation, elementsAdded: countElements(compiled), elementsDeleted: 0, commands: script.nftables.length,
        fallbackReason: reason, timings: { compileMs, renderMs, ...nft, totalMs: elapsedMs(started) },
      };
    } catch (error) {
      this.#inSync = false;
      throw error;
    }
  }
}
