/**
 * Cutting the peer address space and the port space into elementary cells on which every applicable rule
 * gives the same answer, so one evaluation per cell decides the whole cell.
 */
import { familyMax, type AddressRange, type Family } from '../model/address.js';
import type { Endpoint, PortMatch } from '../model/types.js';
import { protocolNumber } from '../model/types.js';
import { protocolName } from '../evaluate/match.js';

export interface AddressCell {
  readonly low: bigint;
  readonly high: bigint;
}

/** Cells covering [0, max] of the family: each point address is a cell, each range boundary starts one. */
export function addressCells(family: Family, points: Iterable<bigint>, ranges: Iterable<AddressRange>): AddressCell[] {
  const max = familyMax(family);
  const starts = new Set<bigint>([0n]);
  for (const point of points) {
    starts.add(point);
    if (point < max) starts.add(point + 1n);
  }
  for (const range of ranges) {
    if (range.family !== family) continue;
    starts.add(range.low);
    if (range.high < max) starts.add(range.high + 1n);
  }
  const sorted = [...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map((low, index) => ({ low, high: index + 1 < sorted.length ? (sorted[index + 1] as bigint) - 1n : max }));
}

export interface PortCell {
  readonly low: number;
  readonly high: number;
}

const portMax = 65535;

/**
 * Port cells for one protocol given every port entry of the applicable rules. Named ports are resolved on
 * `destination` (the endpoint whose container ports they name); unresolvable names cut nothing.
 */
export function portCells(protocol: number, ports: Iterable<PortMatch>, destination: Endpoint | null): PortCell[] {
  const name = protocolName(protocol);
  const starts = new Set<number>([0]);
  const cut = (low: number, high: number): void => {
    starts.add(low);
    if (high < portMax) starts.add(high + 1);
  };
  for (const match of ports) {
    if (match.kind === 'range' && protocolNumber[match.protocol] === protocol) cut(match.start, match.end);
    if (match.kind === 'named' && (match.protocol === null || match.protocol === name)) {
      for (const named of destination?.namedPorts ?? []) {
        if (named.name === match.name && named.protocol === name) cut(named.port, named.port);
      }
    }
  }
  const sorted = [...starts].sort((a, b) => a - b);
  return sorted.map((low, index) => ({ low, high: index + 1 < sorted.length ? (sorted[index + 1] as number) - 1 : portMax }));
}

/** Protocol intervals: the three protocols with ports alone, every other protocol number grouped between. */
export const protocolCells: readonly { readonly low: number; readonly high: number; readonly ports: boolean }[] = [
  { low: 0, high: 5, ports: false },
  { low: 6, high: 6, ports: true },
  { low: 7, high: 16, ports: false },
  { low: 17, high: 17, ports: true },
  { low: 18, high: 131, ports: false },
  { low: 132, high: 132, ports: true },
  { low: 133, high: 255, ports: false },
];

/** A protocol without ports, standing for every protocol of the `ports: false` cells. */
export const portlessProtocol = 1;
