/**
 * Reading the monitor-hit sets (compile/ir.ts): each element is the last packet of one (monitor chain, source,
 * destination, protocol, port) within the set's timeout. Listing gives the key and the seconds left; the age is
 * the timeout minus that, as `update` restarts the timeout at every packet.
 */
import type { NftExpression, NftSet } from '@berth/nftables-napi';
import { monitorHitSeconds } from '../compile/ir.js';
import { monitorTag } from '../compile/names.js';
import type { CarriedHit } from '../compile/render.js';
import type { Family } from '../model/address.js';

/** One would-be drop: which monitor chain let it through, and the packet's addresses and port. */
export interface MonitorHit {
  /** `monitor/in/np/NAMESPACE`, `monitor/eg/anp/NAME/3`, … (as the counters name it). */
  readonly chain: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  /** The destination port; null for protocols without ports (ICMP). */
  readonly port: number | null;
  /** Seconds since its last packet (whole seconds, as the kernel lists them). */
  readonly secondsAgo: number;
}

/** `tcp/5432`, or the protocol alone when it has no ports (`icmp`). */
export function hitFlow(hit: Pick<MonitorHit, 'protocol' | 'port'>): string {
  return hit.port === null ? hit.protocol : `${hit.protocol}/${hit.port}`;
}

export interface ListedHit extends CarriedHit {
  readonly tag: number;
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  readonly port: number;
}

/** Protocols whose header starts with the ports (`th dport` is a port); for others the key holds other bytes. */
const portProtocols = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite', '6', '17', '132', '33', '136']);

/** The elements of one listed monitor-hit set; anything not of its shape is skipped (a foreign element is no hit). */
export function parseMonitorHits(set: NftSet, family: Family): ListedHit[] {
  const hits: ListedHit[] = [];
  for (const element of set.elem ?? []) {
    if (typeof element !== 'object' || element === null || !('elem' in element)) continue;
    const { val, expires } = element.elem;
    const key = typeof val === 'object' && val !== null && 'concat' in val ? val.concat : null;
    if (key === null || key.length !== 5 || typeof expires !== 'number') continue;
    const [tag, source, destination, protocol, port] = key as readonly NftExpression[];
    if (typeof tag !== 'number' || typeof source !== 'string' || typeof destination !== 'string' || typeof port !== 'number') continue;
    hits.push({ family, key: val as NftExpression, expiresSeconds: expires, tag, source, destination, protocol: String(protocol), port });
  }
  return hits;
}

/**
 * Names the hits by their chains, newest first. Hits of chains no longer in the table are left out; a hit whose tag
 * two chains share (names.ts monitorTag) names both, `A or B`, rather than guess.
 */
export function namedHits(hits: readonly ListedHit[], chains: Iterable<string>): MonitorHit[] {
  const byTag = new Map<number, string[]>();
  for (const chain of chains) {
    if (!chain.startsWith('monitor/')) continue;
    const tag = monitorTag(chain);
    byTag.set(tag, [...(byTag.get(tag) ?? []), chain].sort());
  }
  const named: MonitorHit[] = [];
  for (const hit of hits) {
    const candidates = byTag.get(hit.tag);
    if (candidates === undefined) continue;
    named.push({
      chain: candidates.join(' or '), source: hit.source, destination: hit.destination, protocol: hit.protocol, port: portProtocols.has(hit.protocol) ? hit.port : null,
      secondsAgo: Math.max(0, monitorHitSeconds - hit.expiresSeconds),
    });
  }
  return named.sort((a, b) => a.secondsAgo - b.secondsAgo || a.chain.localeCompare(b.chain) || a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
}
