/**
 * Puts a compiled firewall into one network namespace, as one nftables transaction:
 *   - incremental when the kernel still holds what this enforcer last applied there (checked by the
 *     generation element, which the diff deletes: a stale diff aborts as a whole and nothing changes);
 *   - a full resync otherwise, or on demand (delete + recreate the table inside one transaction).
 * The applied state is recorded per namespace under the state directory, after the kernel accepted it.
 */
import { statSync } from 'node:fs';
import { listed, type NftScript } from '@berth/nftables-napi';
import { createLogger } from '@berth/cni';
import { FirewallCode, FirewallError } from '../errors.js';
import { decodeCompiled, encodeCompiled } from '../compile/codec.js';
import { renderDiff } from '../compile/diff.js';
import { tableName, type CompiledFirewall } from '../compile/ir.js';
import { generationSet, renderFull, renderRemove } from '../compile/render.js';
import { readJson, writeJsonAtomic } from '../state/atomic-file.js';
import type { FirewallStore } from '../state/store.js';
import { libnftablesBackend, type NftBackend, type NftBackendFactory } from './backend.js';

const log = createLogger('firewall');
const generationModulus = 2 ** 32;

export interface ApplyResult {
  readonly mode: 'full' | 'incremental' | 'unchanged';
  readonly generation: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  /** Why an incremental update became a full resync, when it did. */
  readonly fallbackReason: string | null;
}

export interface ActionCounter {
  readonly chain: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface AppliedState {
  readonly generation: number;
  readonly compiled: CompiledFirewall;
}

interface AppliedRecord {
  readonly version: 1;
  readonly generation: number;
  readonly compiled: unknown;
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

  #withBackend<T>(fn: (backend: NftBackend) => T): T {
    let backend: NftBackend;
    try {
      backend = this.#backendFactory(this.#netns);
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot open nftables in ${this.#netns ?? 'the current network namespace'}: ${describe(error)}`, { cause: error });
    }
    try {
      return fn(backend);
    } finally {
      backend.close();
    }
  }

  /** What this enforcer last applied in the namespace (boxes decoded lazily), or null. */
  lastApplied(): AppliedState | null {
    return this.#readRecord();
  }

  #readRecord(): AppliedState | null {
    const raw = readJson(this.#store.appliedPath(this.netnsKey()), null) as AppliedRecord | null;
    if (raw === null || raw.version !== 1 || !Number.isInteger(raw.generation)) return null;
    try {
      return { generation: raw.generation, compiled: decodeCompiled(raw.compiled) };
    } catch {
      return null;
    }
  }

  /** The generation the kernel holds, or null when the table (or its generation) is missing. */
  #kernelGeneration(backend: NftBackend): number | null {
    try {
      const output = backend.run({ nftables: [{ list: { set: { family: 'inet', table: tableName, name: generationSet } } }] });
      const element = listed(output, 'set')[0]?.elem?.[0];
      return typeof element === 'number' ? element : null;
    } catch {
      return null;
    }
  }

  #run(backend: NftBackend, script: NftScript, what: string): void {
    try {
      backend.run(script);
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot apply the firewall (${what}) in ${this.#netns ?? 'the current network namespace'}: ${describe(error)}`, { cause: error });
    }
  }

  /** `options.record`: the result of lastApplied() when the caller already read it (saves reading it twice). */
  apply(compiled: CompiledFirewall, options: { resync?: boolean; record?: AppliedState | null } = {}): ApplyResult {
    const record = options.record === undefined ? this.#readRecord() : options.record;
    const result = this.#withBackend((backend): ApplyResult => {
      const kernelGeneration = this.#kernelGeneration(backend);
      const generation = ((kernelGeneration ?? record?.generation ?? 0) + 1) % generationModulus;
      let fallbackReason: string | null = options.resync === true ? 'resync requested' : null;
      if (fallbackReason === null && record === null) fallbackReason = 'no record of a previous apply in this namespace';
      if (fallbackReason === null && kernelGeneration !== record?.generation) {
        fallbackReason = kernelGeneration === null ? 'the table is missing' : `the kernel holds generation ${kernelGeneration}, the record ${record?.generation}`;
      }
      if (fallbackReason === null && record !== null) {
        const { script, stats } = renderDiff(record.compiled, compiled, { from: record.generation, to: generation });
        if (stats.elementsAdded === 0 && stats.elementsDeleted === 0 && script.nftables.length === 2) {
          return { mode: 'unchanged', generation: record.generation, elementsAdded: 0, elementsDeleted: 0, fallbackReason: null };
        }
        try {
          backend.run(script);
          return { mode: 'incremental', generation, ...stats, fallbackReason: null };
        } catch (error) {
          fallbackReason = `incremental update rejected: ${describe(error)}`;
          log.warn({ error: describe(error) }, 'incremental firewall update rejected; resyncing');
        }
      }
      const elements = [...compiled.groups.values()].reduce((sum, group) => sum + group.boxes.length, 0)
        + [...compiled.dispatch.values()].reduce((sum, map) => sum + map.size, 0);
      // A full resync writes every box anyway; nothing is lost by having decoded them.
      this.#run(backend, renderFull(compiled, generation), 'full resync');
      return { mode: 'full', generation, elementsAdded: elements, elementsDeleted: 0, fallbackReason };
    });
    if (result.mode !== 'unchanged') {
      writeJsonAtomic(this.#store.appliedPath(this.netnsKey()), { version: 1, generation: result.generation, compiled: encodeCompiled(compiled) }, { compact: true });
    }
    log.info({ ...result, netns: this.#netns ?? 'current' }, 'firewall applied');
    return result;
  }

  /** Whether the kernel holds what this enforcer last applied here (the table and its generation). */
  isInPlace(): boolean {
    const record = this.#readRecord();
    if (record === null) return false;
    return this.#withBackend((backend) => this.#kernelGeneration(backend) === record.generation);
  }

  /** Deletes Berth's table from the namespace (nothing else) and forgets the record. */
  remove(): void {
    this.#withBackend((backend) => this.#run(backend, renderRemove(), 'remove table'));
    writeJsonAtomic(this.#store.appliedPath(this.netnsKey()), { version: 1, generation: 0, compiled: null });
  }

  /** Packet counters of the action chains (drops and monitor hits per deciding policy rule). */
  counters(chains: readonly string[]): ActionCounter[] {
    if (chains.length === 0) return [];
    return this.#withBackend((backend) => {
      let output;
      try {
        output = backend.run({ nftables: chains.map((name) => ({ list: { chain: { family: 'inet' as const, table: tableName, name } } })) });
      } catch {
        return [];
      }
      const counters = new Map<string, { packets: number; bytes: number }>();
      for (const rule of listed(output, 'rule')) {
        for (const statement of rule.expr) {
          if (!('counter' in statement) || typeof statement.counter !== 'object' || statement.counter === null) continue;
          counters.set(rule.chain, { packets: statement.counter.packets ?? 0, bytes: statement.counter.bytes ?? 0 });
        }
      }
      return [...counters].map(([chain, value]) => ({ chain, ...value }));
    });
  }
}
