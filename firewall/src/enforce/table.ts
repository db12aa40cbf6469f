/**
 * Berth's table in one network namespace, through one NftBackend: read the generation, apply a delta or a full
 * resync as one transaction, remove the table, read counters. The generation (a one-element set) is deleted
 * (old value) and re-added (new value) by every delta, so a delta computed against a table that changed under
 * it aborts as a whole in the kernel.
 */
import { listed, type NftScript } from '@berth/nftables-napi';
import { FirewallCode, FirewallError } from '../errors.js';
import type { ChangeLog } from '../compile/change-log.js';
import { renderDelta, type DeltaStats } from '../compile/delta.js';
import { monitorHitSet, tableName, type CompiledFirewall } from '../compile/ir.js';
import { carryMonitorHits, generationSet, renderFull, renderRemove } from '../compile/render.js';
import type { NftBackend } from './backend.js';
import { parseMonitorHits, type ListedHit } from './monitor-hits.js';

const generationModulus = 2 ** 32;

export function nextGeneration(generation: number | null): number {
  return ((generation ?? 0) + 1) % generationModulus;
}

export interface ActionCounter {
  readonly chain: string;
  readonly packets: number;
  readonly bytes: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function countElements(compiled: CompiledFirewall): number {
  let elements = 0;
  for (const group of compiled.groups.values()) elements += group.boxes.length + group.peers.size;
  for (const profile of compiled.profiles.values()) elements += profile.boxes.length;
  for (const set of compiled.selections.values()) elements += set.addresses.size;
  for (const map of compiled.dispatch.values()) elements += map.size;
  return elements;
}

/** Where a libnftables call's time went: wall clock, and the process's CPU (user: encoding and libnftables; system: the kernel). */
export interface NftTimings {
  readonly nftMs: number;
  readonly nftUserMs: number;
  readonly nftSystemMs: number;
}

export const noNftTimings: NftTimings = { nftMs: 0, nftUserMs: 0, nftSystemMs: 0 };

export class KernelTable {
  readonly #backend: NftBackend;
  readonly #where: string;

  constructor(backend: NftBackend, where: string) {
    this.#backend = backend;
    this.#where = where;
  }

  /** The generation the kernel holds, or null when the table (or its generation) is missing. */
  generation(): number | null {
    try {
      const output = this.#backend.run({ nftables: [{ list: { set: { family: 'inet', table: tableName, name: generationSet } } }] });
      const element = listed(output, 'set')[0]?.elem?.[0];
      return typeof element === 'number' ? element : null;
    } catch {
      return null;
    }
  }

  run(script: NftScript, what: string): NftTimings {
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    try {
      this.#backend.run(script);
    } catch (error) {
      throw new FirewallError(FirewallCode.Enforcement, `Cannot apply the firewall (${what}) in ${this.#where}: ${describe(error)}`, { cause: error });
    }
    const used = process.cpuUsage(cpu);
    return { nftMs: Number(process.hrtime.bigint() - started) / 1e6, nftUserMs: used.user / 1000, nftSystemMs: used.system / 1000 };
  }

  /**
   * Applies the changes as one transaction from generation `from` to `to`; returns null when there was nothing
   * to change (the generation stays). Throws when the kernel rejects it (nothing applied).
   */
  applyDelta(changes: ChangeLog, compiled: CompiledFirewall, generation: { from: number; to: number }): { stats: DeltaStats; renderMs: number; nft: NftTimings } | null {
    const started = process.hrtime.bigint();
    const { script, stats } = renderDelta(changes, compiled, generation);
    const renderMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (script.nftables.length === 2) return null;
    return { stats, renderMs, nft: this.run(script, 'incremental update') };
  }

  /** The full resync's transaction, carrying the recent monitor hits the table holds over into the new one. */
  fullScript(compiled: CompiledFirewall, generation: number): NftScript {
    const script = renderFull(compiled, generation);
    return { nftables: [...script.nftables, ...carryMonitorHits(this.monitorHits())] };
  }

  /** Replaces the table's whole content in one transaction (no window without rules). */
  applyFull(compiled: CompiledFirewall, generation: number): { elements: number; renderMs: number; nft: NftTimings } {
    const started = process.hrtime.bigint();
    const script = this.fullScript(compiled, generation);
    const renderMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { elements: countElements(compiled), renderMs, nft: this.run(script, 'full resync') };
  }

  remove(): void {
    this.run(renderRemove(), 'remove table');
  }

  /** Names of the drop/monitor action chains in the table. */
  actionChains(): string[] {
    try {
      const output = this.#backend.run({ nftables: [{ list: { chains: { family: 'inet' } } }] });
      return listed(output, 'chain').filter((chain) => chain.table === tableName && /^(drop|monitor)\//.test(chain.name)).map((chain) => chain.name);
    } catch {
      return [];
    }
  }

  /** Packet counters of the action chains (drops and monitor hits per deciding policy rule). */
  counters(chains: readonly string[]): ActionCounter[] {
    if (chains.length === 0) return [];
    let output;
    try {
      output = this.#backend.run({ nftables: chains.map((name) => ({ list: { chain: { family: 'inet' as const, table: tableName, name } } })) });
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
  }

  /** The recent would-be drops the monitor-hit sets hold (both families); none when the table or the sets are missing. */
  monitorHits(): ListedHit[] {
    const hits: ListedHit[] = [];
    // One run per set: a single run with both list commands returned neither (libnftables 1.0.6 here).
    for (const family of [4, 6] as const) {
      let output;
      try {
        output = this.#backend.run({ nftables: [{ list: { set: { family: 'inet', table: tableName, name: monitorHitSet(family) } } }] });
      } catch {
        continue;
      }
      for (const set of listed(output, 'set')) hits.push(...parseMonitorHits(set, family));
    }
    return hits;
  }
}
