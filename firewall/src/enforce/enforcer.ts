/**
 * Puts a compiled firewall into one network namespace for the CLI path (no agent), as one nftables transaction:
 *   - incremental when the kernel still holds what this enforcer last applied there: the record names the
 *     generation it applied and the digest of the state it compiled; a delta starts from that state, and the
 *     kernel's generation proves nobody changed the table since (a stale delta aborts as a whole);
 *   - a full resync otherwise, or on demand (delete + recreate the table inside one transaction).
 * The record (`applied/<netns>.json`, a few bytes) is written after the kernel accepted the change.
 */
import { statSync } from 'node:fs';
import { createLogger } from '@berth/cni';
import { FirewallCode, FirewallError } from '../errors.js';
import type { ChangeLog } from '../compile/change-log.js';
import type { CompiledFirewall } from '../compile/ir.js';
import { readJson, writeJsonAtomic } from '../state/atomic-file.js';
import type { FirewallStore } from '../state/store.js';
import { libnftablesBackend, type NftBackendFactory } from './backend.js';
import { KernelTable, nextGeneration, noNftTimings, type ActionCounter, type NftTimings } from './table.js';
import { namedHits, type MonitorHit } from './monitor-hits.js';

const log = createLogger('firewall');

export interface ApplyResult {
  readonly mode: 'full' | 'incremental' | 'unchanged';
  readonly generation: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  /** Why an incremental update became a full resync, when it did. */
  readonly fallbackReason: string | null;
  readonly timings: { readonly renderMs: number } & NftTimings;
}

/** A change to enforce: the whole table after it, and the changes from the table of `stateBefore`. */
export interface EnforcementPlan {
  readonly compiled: CompiledFirewall;
  readonly changes: ChangeLog;
  /** Digest of the state the changes start from (see stateDigest). */
  readonly stateBefore: string;
  readonly stateAfter: string;
}

interface AppliedRecord {
  readonly version: 2;
  readonly generation: number;
  readonly state: string;
}

export interface EnforcerOptions {
  readonly store: FirewallStore;
  /** Path of the network namespace to enforce in; default: the one the process runs in. */
  readonly netns?: string;
  readonly backend?: NftBackendFactory;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Enforcer {
  readonly #store: FirewallStore;
  readonly #netns: string | undefined;
  readonly #backendFactory: NftBackendFactory;

  constructor(options: EnforcerOptions) {
    this.#store = options.store;
    this.#netns = options.netns;
    this.#backendFactory = options.backend ?? libnftablesBackend;
  }

  /** `dev-ino` of the target namespace: the applied record's name. */
  netnsKey(): string {
    const path = this.#netns ?? '/proc/thread-self/ns/net';
    try {
      const stat = statSync(path, { bigint: true });
      return `${stat.dev}-${stat.ino}`;
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot identify network namespace ${path}: ${describe(error)}`);
    }
  }

  #withTable<T>(fn: (table: KernelTable) => T): T {
    const where = this.#netns ?? 'the current network namespace';
    let backend;
    try {
      backend = this.#backendFactory(this.#netns);
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot open nftables in ${where}: ${describe(error)}`, { cause: error });
    }
    try {
      return fn(new KernelTable(backend, where));
    } finally {
      backend.close();
    }
  }

  #readRecord(): AppliedRecord | null {
    const raw = readJson(this.#store.appliedPath(this.netnsKey()), null) as Partial<AppliedRecord> | null;
    if (raw === null || raw.version !== 2 || !Number.isInteger(raw.generation) || typeof raw.state !== 'string') return null;
    return raw as AppliedRecord;
  }

  #writeRecord(record: AppliedRecord): void {
    writeJsonAtomic(this.#store.appliedPath(this.netnsKey()), record, { compact: true });
  }

  apply(plan: EnforcementPlan, options: { resync?: boolean } = {}): ApplyResult {
    const record = this.#readRecord();
    const result = this.#withTable((table): ApplyResult => {
      const kernelGeneration = table.generation();
      const generation = nextGeneration(kernelGeneration ?? record?.generation ?? null);
      let fallbackReason: string | null = options.resync === true ? 'resync requested' : null;
      if (fallbackReason === null && record === null) fallbackReason = 'no record of a previous apply in this namespace';
      if (fallbackReason === null && record?.state !== plan.stateBefore) fallbackReason = 'the record is of another state';
      if (fallbackReason === null && kernelGeneration !== record?.generation) {
        fallbackReason = kernelGeneration === null ? 'the table is missing' : `the kernel holds generation ${kernelGeneration}, the record ${record?.generation}`;
      }
      if (fallbackReason === null && record !== null) {
        try {
          const delta = table.applyDelta(plan.changes, plan.compiled, { from: record.generation, to: generation });
          if (delta === null) {
            return { mode: 'unchanged', generation: record.generation, elementsAdded: 0, elementsDeleted: 0, fallbackReason: null, timings: { renderMs: 0, ...noNftTimings } };
          }
          return { mode: 'incremental', generation, ...delta.stats, fallbackReason: null, timings: { renderMs: delta.renderMs, ...delta.nft } };
        } catch (error) {
          fallbackReason = `incremental update rejected: ${describe(error)}`;
          log.warn({ error: describe(error) }, 'incremental firewall update rejected; resyncing');
        }
      }
      const full = table.applyFull(plan.compiled, generation);
      return { mode: 'full', generation, elementsAdded: full.elements, elementsDeleted: 0, fallbackReason, timings: { renderMs: full.renderMs, ...full.nft } };
    });
    if (result.mode !== 'unchanged' || record?.state !== plan.stateAfter) {
      this.#writeRecord({ version: 2, generation: result.generation, state: plan.stateAfter });
    }
    log.info({ ...result, netns: this.#netns ?? 'current' }, 'firewall applied');
    return result;
  }

  /** Whether this enforcer has a table in place here by its record (applied and not removed since). */
  hasApplied(): boolean {
    const record = this.#readRecord();
    return record !== null && record.state !== '';
  }

  /** Whether the kernel holds what this enforcer last applied here (the table and its generation). */
  isInPlace(): boolean {
    const record = this.#readRecord();
    if (record === null) return false;
    return this.#withTable((table) => table.generation() === record.generation);
  }

  /** Deletes Berth's table from the namespace (nothing else) and forgets the record. */
  remove(): void {
    this.#withTable((table) => table.remove());
    this.#writeRecord({ version: 2, generation: 0, state: '' });
  }

  /** Drop and monitor counters per action chain of the table in the namespace. */
  counters(): ActionCounter[] {
    return this.#withTable((table) => table.counters(table.actionChains()));
  }

  /** The recent would-be drops of the table's monitor chains, newest first. */
  monitorHits(): MonitorHit[] {
    return this.#withTable((table) => namedHits(table.monitorHits(), table.actionChains()));
  }
}
