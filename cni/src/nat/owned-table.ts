import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tryLockFile } from '@berth/netns-napi';
import { NftError, NftErrorCode, type Nft, type NftCommand } from '@berth/nftables-napi';
import { CniError } from '../errors.js';
import { acquireLock, type LockWait, defaultLockWait } from '../ipam/lock.js';
import {
  addElementCommands, deleteElementCommands, elementIdentity, fullIdentity, valueIdentity, type NatElement,
} from './elements.js';
import { NatCode } from './errors.js';
import { readNatListing, type NatListing } from './listing.js';
import { tagInNetwork } from './owner.js';
import { allNatSets, natBaseScript, natFamily, natTable, type NatSetName } from './ruleset.js';

/** The port to libnftables: `Nft` itself, or anything that runs a transaction the same way. */
export type NftRunner = Pick<Nft, 'run'>;

/** Serializes NAT changes across processes (list, then change, must not interleave with another plugin's). */
export const natLockPathDefault = '/run/berth/nat.lock';

export interface NatTableOptions {
  readonly nft: NftRunner;
  /** The lock file; default `/run/berth/nat.lock`. Its directory is created when missing. */
  readonly lockPath?: string;
  readonly lockWait?: LockWait;
}

/** What a change did. */
export interface NatChange {
  readonly added: readonly NatElement[];
  readonly removed: readonly NatElement[];
  /** Elements another owner held under the same key and value (left over by an earlier holder of the address). */
  readonly takenOver: readonly NatElement[];
  readonly tableRemoved: boolean;
}

const emptyListing: NatListing = { sets: new Set(), elements: [] };

function describeOwner(tag: string): string {
  return tag === '' ? 'an untagged element' : `attachment ${tag}`;
}

function conflictError(wanted: NatElement, held: NatElement): CniError {
  return new CniError(NatCode.PortInUse, `Cannot add NAT element ${elementIdentity(wanted)} for ${describeOwner(wanted.owner)}: ` +
    `${describeOwner(held.owner)} holds it with value ${valueIdentity(held)}`);
}

/**
 * Berth's NAT table in one network namespace (the one the `Nft` context is bound to). Every change lists the table,
 * computes the difference and applies it as one transaction, under a file lock so concurrent plugins never act on a
 * stale listing. The table is created on first use and deleted when its last element goes.
 */
export class NatTable {
  readonly #nft: NftRunner;
  readonly #lockPath: string;
  readonly #lockWait: LockWait;

  constructor(options: NatTableOptions) {
    this.#nft = options.nft;
    this.#lockPath = options.lockPath ?? natLockPathDefault;
    this.#lockWait = options.lockWait ?? defaultLockWait;
  }

  /** The table's Berth sets and elements; empty when the table does not exist. */
  list(): NatListing {
    try {
      return readNatListing(this.#nft.run({ list: { table: { family: natFamily, name: natTable } } }));
    } catch (error) {
      if (error instanceof NftError && error.code === NftErrorCode.NotFound) return emptyListing;
      throw error;
    }
  }

  /**
   * Makes `owner`'s elements in `sets` exactly `desired` (each of which must be owned by `owner` and be in `sets`):
   * ADD passes what it needs, DEL passes nothing. Idempotent. A key another owner holds with a different value
   * (a host port mapped to another container) is a `PortInUse` error and changes nothing.
   */
  async sync(owner: string, sets: readonly NatSetName[], desired: readonly NatElement[]): Promise<NatChange> {
    for (const element of desired) {
      if (element.owner !== owner || !sets.includes(element.set)) {
        throw new TypeError(`NatTable.sync: element ${elementIdentity(element)} of ${element.owner} is outside owner ${owner} / sets ${sets.join(',')}`);
      }
    }
    return this.#locked(() => this.#sync(owner, sets, desired));
  }

  /** GC: removes the elements of `network`'s attachments whose tags are not in `keep`. */
  async collect(network: string, keep: ReadonlySet<string>, sets: readonly NatSetName[] = allNatSets): Promise<NatChange> {
    return this.#locked(() => {
      const listing = this.list();
      const removed = listing.elements.filter((element) =>
        sets.includes(element.set) && tagInNetwork(element.owner, network) && !keep.has(element.owner));
      return this.#apply(listing, [], removed, []);
    });
  }

  /** CHECK: the desired elements that are absent, or present with another value or owner. */
  missing(desired: readonly NatElement[]): NatElement[] {
    const present = new Set(this.list().elements.map(fullIdentity));
    return desired.filter((element) => !present.has(fullIdentity(element)));
  }

  async #locked<T>(fn: () => T): Promise<T> {
    mkdirSync(dirname(this.#lockPath), { recursive: true, mode: 0o755 });
    const release = await acquireLock(this.#lockPath, tryLockFile, this.#lockWait);
    try {
      return fn();
    } finally {
      release();
    }
  }

  #sync(owner: string, sets: readonly NatSetName[], desired: readonly NatElement[]): NatChange {
    let listing = this.list();
    if (listing.sets.size === 0 && desired.length > 0) listing = this.#create();
    const missingSets = [...new Set(desired.map((element) => element.set))].filter((set) => !listing.sets.has(set));
    if (missingSets.length > 0) {
      throw new CniError(NatCode.RulesetDamaged, `Cannot add NAT elements: table ${natFamily} ${natTable} lacks ${missingSets.join(', ')}; delete the table to let Berth recreate it`);
    }
    const held = new Map(listing.elements.map((element) => [elementIdentity(element), element]));
    const wanted = new Set(desired.map(fullIdentity));
    const added: NatElement[] = [];
    const removed: NatElement[] = listing.elements.filter((element) =>
      element.owner === owner && sets.includes(element.set) && !wanted.has(fullIdentity(element)));
    const takenOver: NatElement[] = [];
    for (const element of desired) {
      const existing = held.get(elementIdentity(element));
      if (existing === undefined) { added.push(element); continue; }
      if (fullIdentity(existing) === fullIdentity(element)) continue;
      if (existing.owner !== owner && valueIdentity(existing) !== valueIdentity(element)) throw conflictError(element, existing);
      // Same key: replace it (another value of ours, or a stale holder's element with the same value).
      if (existing.owner !== owner) takenOver.push(existing);
      else if (!removed.includes(existing)) removed.push(existing);
      added.push(element);
    }
    return this.#apply(listing, added, removed, takenOver);
  }

  /** One transaction: deletions first (they free keys the additions reuse), then additions, then maybe the table. */
  #apply(listing: NatListing, added: readonly NatElement[], removed: readonly NatElement[], takenOver: readonly NatElement[]): NatChange {
    const deletions = [...removed, ...takenOver];
    const tableRemoved = listing.sets.size > 0 && added.length === 0 && deletions.length > 0 &&
      deletions.length === listing.elements.length;
    const commands: NftCommand[] = [...deleteElementCommands(deletions), ...addElementCommands(added)];
    if (tableRemoved) commands.push({ delete: { table: { family: natFamily, name: natTable } } });
    if (commands.length > 0) this.#nft.run({ nftables: commands });
    return { added, removed, takenOver, tableRemoved };
  }

  /** Creates the table with its fixed chains, rules, sets and maps, or finds one another process just made. */
  #create(): NatListing {
    try {
      this.#nft.run(natBaseScript());
    } catch (error) {
      if (!(error instanceof NftError && error.code === NftErrorCode.Exists)) throw error;
    }
    return this.list();
  }
}
