/**
 * The firewall as the CLI and the CNI plugin use it, with no agent: every change takes the state lock, loads
 * the state, changes it, compiles, enforces in the target namespace and saves. Enforcement happens before the
 * save, so a change the kernel rejects leaves the state as it was.
 */
import { compile } from './compile/compile.js';
import { FirewallCompiler } from './compile/compiler.js';
import type { CompiledFirewall } from './compile/ir.js';
import { Enforcer, type ApplyResult } from './enforce/enforcer.js';
import type { ActionCounter } from './enforce/table.js';
import type { MonitorHit } from './enforce/monitor-hits.js';
import type { NftBackendFactory } from './enforce/backend.js';
import { Evaluator, type Decision, type FlowQuery } from './evaluate/decide.js';
import { parseDocuments, type ParseOptions } from './model/documents.js';
import {
  applyDocuments, collectEndpoints, removeDocument, removeEndpointByKey, removeEndpointByOwner, upsertEndpoint,
} from './state/mutations.js';
import { applyStateChange, snapshotOf } from './state/compiler-events.js';
import { FirewallStore, policySetOf, stateDigest, type EndpointRecord, type FirewallState } from './state/store.js';

export interface FirewallOptions {
  /** State root (default `$BERTH_ROOT` or /var/lib/berth); the firewall keeps its files in `<root>/firewall`. */
  readonly root?: string;
  /** Network namespace to enforce in (a path such as /run/netns/NAME); default: the current one. */
  readonly netns?: string;
  readonly backend?: NftBackendFactory;
}

/** Where a CLI-path change's time went, in milliseconds (enforcement's own split is in `enforcement.timings`). */
export interface ChangeTimings {
  /** Reading and parsing the state files. */
  readonly loadMs: number;
  /** Compiling the state before and feeding the change to the compiler. */
  readonly compileMs: number;
  readonly enforceMs: number;
  /** Writing the state files (and the applied record, inside enforceMs). */
  readonly saveMs: number;
}

export interface ChangeResult<T> {
  readonly value: T;
  readonly enforcement: ApplyResult;
  readonly timings: ChangeTimings;
}

/** For DEL and GC: enforcement is null when they found nothing of their own to remove. */
export interface OptionalChangeResult<T> {
  readonly value: T;
  readonly enforcement: ApplyResult | null;
}

/** Milliseconds since the previous call (or since creation). */
function stopwatch(): () => number {
  let last = process.hrtime.bigint();
  return () => {
    const now = process.hrtime.bigint();
    const elapsed = Number(now - last) / 1e6;
    last = now;
    return elapsed;
  };
}

export function compileState(state: FirewallState): CompiledFirewall {
  const { policies, namespaces } = policySetOf(state);
  return compile({ policies, namespaces, endpoints: state.endpoints });
}

export class Firewall {
  readonly store: FirewallStore;
  readonly enforcer: Enforcer;

  constructor(options: FirewallOptions = {}) {
    this.store = new FirewallStore(options.root);
    this.enforcer = new Enforcer({
      store: this.store,
      ...(options.netns === undefined ? {} : { netns: options.netns }),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
    });
  }

  read(): FirewallState {
    return this.store.read();
  }

  /**
   * The state before is compiled in memory (no record of the table is read back), then the change is fed to the
   * incremental compiler as events: the delta is what the change touches.
   */
  async #change<T>(mutate: (state: FirewallState) => { state: FirewallState; value: T }, options: { resync?: boolean } = {}): Promise<ChangeResult<T>> {
    return this.store.locked(() => {
      const clock = stopwatch();
      const before = this.store.read();
      const { state, value } = mutate(before);
      const loadMs = clock();
      const compiler = new FirewallCompiler();
      if (options.resync === true) {
        compiler.load(snapshotOf(state));
      } else {
        compiler.load(snapshotOf(before));
        compiler.takeChanges();
        applyStateChange(compiler, before, state);
      }
      const plan = { compiled: compiler.compiled(), changes: compiler.takeChanges(), stateBefore: stateDigest(before), stateAfter: stateDigest(state) };
      const compileMs = clock();
      const enforcement = this.enforcer.apply(plan, options);
      const enforceMs = clock();
      this.store.write(state, before);
      return { value, enforcement, timings: { loadMs, compileMs, enforceMs, saveMs: clock() } };
    });
  }

  /** `berth policy apply -f`: all documents of the text, or none of them. */
  async apply(text: string, options: ParseOptions = {}): Promise<ChangeResult<{ created: readonly string[]; configured: readonly string[]; unchanged: readonly string[] }>> {
    const parsed = parseDocuments(text, options);
    return this.#change((state) => {
      const outcome = applyDocuments(state, parsed);
      return { state: outcome.state, value: { created: outcome.created, configured: outcome.configured, unchanged: outcome.unchanged } };
    });
  }

  /** Removes a document by key (`NetworkPolicy/NS/NAME`, `AdminNetworkPolicy/NAME`, …). */
  async remove(key: string): Promise<ChangeResult<string>> {
    return this.#change((state) => ({ state: removeDocument(state, key), value: key }));
  }

  async setMonitor(monitor: boolean): Promise<ChangeResult<boolean>> {
    return this.#change((state) => ({ state: { ...state, monitor }, value: monitor }));
  }

  async registerEndpoint(record: EndpointRecord): Promise<ChangeResult<readonly EndpointRecord[]>> {
    return this.#change((state) => {
      const outcome = upsertEndpoint(state, record);
      return { state: outcome.state, value: outcome.replaced };
    });
  }

  /** Registers many endpoints with one compile and one transaction (an agent's resync, a benchmark's setup). */
  async registerEndpoints(records: readonly EndpointRecord[]): Promise<ChangeResult<readonly EndpointRecord[]>> {
    return this.#change((state) => {
      let current = state;
      const replaced: EndpointRecord[] = [];
      for (const record of records) {
        const outcome = upsertEndpoint(current, record);
        current = outcome.state;
        replaced.push(...outcome.replaced.filter((old) => !records.includes(old)));
      }
      return { state: current, value: replaced };
    });
  }

  async unregisterEndpoint(containerId: string, ifName: string): Promise<OptionalChangeResult<readonly EndpointRecord[]>> {
    // DEL is idempotent and must not create state (or a table) on a host that never registered anything.
    if (removeEndpointByOwner(this.store.read(), containerId, ifName).removed.length === 0) return { value: [], enforcement: null };
    return this.#change((state) => {
      const outcome = removeEndpointByOwner(state, containerId, ifName);
      return { state: outcome.state, value: outcome.removed };
    });
  }

  async removeEndpoint(key: string): Promise<ChangeResult<string>> {
    return this.#change((state) => ({ state: removeEndpointByKey(state, key), value: key }));
  }

  /** Removes the network's endpoints whose owning attachment (`containerId/ifName`) is not in `valid`. */
  async collectGarbage(network: string, valid: ReadonlySet<string>): Promise<OptionalChangeResult<readonly EndpointRecord[]>> {
    if (collectEndpoints(this.store.read(), network, valid).removed.length === 0) return { value: [], enforcement: null };
    return this.#change((state) => {
      const outcome = collectEndpoints(state, network, valid);
      return { state: outcome.state, value: outcome.removed };
    });
  }

  /** Full resync: rebuilds the table from the state in one transaction. */
  async resync(): Promise<ChangeResult<null>> {
    return this.#change((state) => ({ state, value: null }), { resync: true });
  }

  /** Deletes the table from the namespace; the state stays (a later change or resync restores it). */
  async disable(): Promise<void> {
    await this.store.locked(() => this.enforcer.remove());
  }

  explain(query: FlowQuery): Decision {
    const state = this.store.read();
    const { policies, namespaces } = policySetOf(state);
    return new Evaluator(policies, namespaces, state.endpoints).decide(query);
  }

  /** Drop and monitor counters per action chain of what is applied in the namespace. */
  counters(): ActionCounter[] {
    return this.enforcer.counters();
  }

  /** The recent would-be drops of monitor chains in the namespace (addresses, protocol, port, age), newest first. */
  monitorHits(): MonitorHit[] {
    return this.enforcer.monitorHits();
  }
}
