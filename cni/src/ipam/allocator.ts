import { CniCode, CniError } from '../errors.js';
import { formatIp, tryParseIp, type IpAddress } from '../net/ip.js';
import type { ResultIp } from '../spec/result.js';
import {
  allocatableCount, describeRangeSet, isAllocatable, rangeContains, type Range, type RangeSet,
} from './range.js';

/** Plugin-specific error codes of berth-ipam (the spec leaves 100+ to plugins). */
export const IpamCode = {
  /** A requested address is held by another attachment, or this attachment already holds a different one. */
  AddressUnavailable: 100,
} as const;

/** Who holds a reservation: the attachment (container ID, interface name). Old host-local files name no interface. */
export interface Owner {
  readonly containerId: string;
  readonly ifName?: string;
}

/** The store's state as the allocator reads it: reservations by canonical address text, and round-robin cursors. */
export interface AllocationState {
  readonly reservations: ReadonlyMap<string, Owner>;
  /** `last_reserved_ip.<index>` per range-set index. */
  readonly lastReserved: ReadonlyMap<number, IpAddress>;
}

/** The address chosen for one range set; `fresh` ones must be written, the others the attachment already holds. */
export interface Pick {
  readonly setIndex: number;
  readonly address: IpAddress;
  readonly range: Range;
  readonly fresh: boolean;
}

export function sameOwner(a: Owner, b: Owner): boolean {
  return a.containerId === b.containerId && a.ifName === b.ifName;
}

function rangeOf(set: RangeSet, address: IpAddress): Range | undefined {
  return set.find((range) => rangeContains(range, address));
}

/** A reservation with its address parsed once. */
interface Held {
  readonly address: IpAddress;
  readonly owner: Owner;
}

function parseReservations(reservations: ReadonlyMap<string, Owner>): Held[] {
  const held: Held[] = [];
  for (const [key, owner] of reservations) {
    const address = tryParseIp(key);
    if (address !== undefined) held.push({ address, owner });
  }
  return held;
}

/** Addresses of the set that can still be handed out. */
export function freeCount(set: RangeSet, reservations: ReadonlyMap<string, Owner>): bigint {
  let free = set.reduce((total, range) => total + allocatableCount(range), 0n);
  for (const { address } of parseReservations(reservations)) {
    if (set.some((range) => isAllocatable(range, address))) free -= 1n;
  }
  return free;
}

/** The attachment's existing reservation inside the set, if any. */
function heldInSet(set: RangeSet, state: AllocationState, owner: Owner): { address: IpAddress; range: Range } | undefined {
  for (const [key, holder] of state.reservations) {
    if (!sameOwner(holder, owner)) continue;
    const address = tryParseIp(key);
    const range = address === undefined ? undefined : rangeOf(set, address);
    if (address !== undefined && range !== undefined) return { address, range };
  }
  return undefined;
}

function pickRequested(set: RangeSet, setIndex: number, requested: IpAddress, state: AllocationState, owner: Owner): Pick {
  const range = rangeOf(set, requested) as Range;
  const text = formatIp(requested);
  if (!isAllocatable(range, requested)) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Cannot allocate requested IP ${text}: it is the gateway, network or broadcast address of range set ${describeRangeSet(set)}`);
  }
  const holder = state.reservations.get(text);
  const held = heldInSet(set, state, owner);
  if (held !== undefined && held.address.value !== requested.value) {
    throw new CniError(IpamCode.AddressUnavailable, `Cannot allocate requested IP ${text}: ${owner.containerId}/${owner.ifName ?? ''} already holds ${formatIp(held.address)} in range set ${describeRangeSet(set)}`);
  }
  if (holder !== undefined && !sameOwner(holder, owner)) {
    throw new CniError(IpamCode.AddressUnavailable, `Cannot allocate requested IP ${text}: it is reserved by container ${holder.containerId}`);
  }
  return { setIndex, address: requested, range, fresh: holder === undefined };
}

/** Round-robin as host-local: from the address after the set's last reservation, across the set's ranges, wrapping. */
function pickNext(set: RangeSet, setIndex: number, state: AllocationState): Pick {
  const reservedInSet = parseReservations(state.reservations)
    .filter(({ address }) => set.some((range) => rangeContains(range, address))).length;
  if (freeCount(set, state.reservations) <= 0n) {
    throw new CniError(CniCode.PluginNotAvailable, `Cannot allocate an address: range set ${describeRangeSet(set)} is exhausted`);
  }
  const last = state.lastReserved.get(setIndex);
  const startRange = last === undefined ? -1 : set.findIndex((range) => rangeContains(range, last));
  let rangeIndex = startRange < 0 ? 0 : startRange;
  // The cursor sits on the address before the first candidate.
  let cursor = startRange < 0 ? (set[0] as Range).start.value - 1n : (last as IpAddress).value;
  // A free address exists, so it is found before passing every reserved or excluded address once.
  const stepsMax = reservedInSet + 3 * set.length + 1;
  for (let step = 0; step <= stepsMax; step += 1) {
    let range = set[rangeIndex] as Range;
    if (cursor >= range.end.value) {
      rangeIndex = (rangeIndex + 1) % set.length;
      range = set[rangeIndex] as Range;
      cursor = range.start.value;
    } else {
      cursor += 1n;
    }
    const candidate: IpAddress = { family: range.subnet.address.family, value: cursor };
    if (isAllocatable(range, candidate) && !state.reservations.has(formatIp(candidate))) {
      return { setIndex, address: candidate, range, fresh: true };
    }
  }
  throw new Error(`IPAM invariant broken: no free address found in ${stepsMax} steps although range set ${describeRangeSet(set)} has free addresses`);
}

export interface AllocateInput {
  readonly rangeSets: readonly RangeSet[];
  readonly state: AllocationState;
  readonly owner: Owner;
  readonly requested: readonly IpAddress[];
}

/**
 * Chooses one address per range set for an attachment (pure: the caller holds the store's lock and writes the
 * fresh picks). Requested addresses go to the set whose ranges contain them (code 7 if none does, or if one is the
 * gateway/network/broadcast; 100 if another attachment holds it). An attachment that already holds an address in a
 * set gets that address again: ADD is idempotent. Otherwise round-robin after the set's last reservation; an
 * exhausted set is code 50.
 */
export function allocate(input: AllocateInput): Pick[] {
  const { rangeSets, state, owner } = input;
  const requestedBySet = new Map<number, IpAddress>();
  for (const address of input.requested) {
    const setIndex = rangeSets.findIndex((set) => rangeOf(set, address) !== undefined);
    if (setIndex < 0) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Cannot allocate requested IP ${formatIp(address)}: it is in no configured range`);
    }
    if (requestedBySet.has(setIndex)) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Cannot allocate requested IPs ${formatIp(requestedBySet.get(setIndex) as IpAddress)} and ${formatIp(address)}: both are in range set ${setIndex}`);
    }
    requestedBySet.set(setIndex, address);
  }
  // Picks made for earlier sets count as reserved for later ones (sets do not overlap, so this is belt and braces).
  const reservations = new Map(state.reservations);
  return rangeSets.map((set, setIndex) => {
    const current: AllocationState = { reservations, lastReserved: state.lastReserved };
    const requested = requestedBySet.get(setIndex);
    const held = heldInSet(set, current, owner);
    const pick = requested !== undefined ? pickRequested(set, setIndex, requested, current, owner)
      : held !== undefined ? { setIndex, address: held.address, range: held.range, fresh: false }
        : pickNext(set, setIndex, current);
    reservations.set(formatIp(pick.address), owner);
    return pick;
  });
}

/** The result entry for a pick: the address with the subnet's prefix, and the range's gateway. */
export function pickToResultIp(pick: Pick): ResultIp {
  return {
    address: `${formatIp(pick.address)}/${pick.range.subnet.prefixLength}`,
    gateway: formatIp(pick.range.gateway),
  };
}
