import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tryLockFile } from '@berth/netns-napi';
import type { Nft, NftCommand } from '@berth/nftables-napi';
import { CniError } from '../errors.js';
import { acquireLock, defaultLockWait, type LockWait } from '../ipam/lock.js';
import {
  addElementCommands, deleteElementCommands, elementIdentity, fullIdentity, valueIdentity, type OwnedElement,
} from './elements.js';
import { NatCode } from './errors.js';
import { readOwnedListing, type OwnedListing } from './listing.js';
import { tagInNetwork } from './owner.js';
import type { OwnedTableSpec } from './table-spec.js';

/** The port to libnftables: `Nft` itself, or anything that runs a transaction the same way. */
export type NftRunner = Pick<Nft, 'run'>;

/** Where the lock files serializing changes to Berth's tables live (one per table). */
export const tableLockDirDefault = '/run/berth/locks';

export interface OwnedTableOptions {
  readonly nft: NftRunner;
  /** The lock file; default `/run/berth/locks/<family>-<table>.lock`. Its directory is created when missing. */
  readonly lockPath?: string;
  readonly lockWait?: LockWait;
}

/** What a change did. */
export interface OwnedTableChange {
  readonly added: readonly OwnedElement[];
  readonly removed: readonly OwnedElement[];
  /** Elements another owner held under the same key and value (left over by an earlier holder of the address). */
  readonly takenOver: readonly OwnedElement[];
  readonly tableRemoved: boolean;
}

/**
 * NftError codes this module branches on. Compared by value so that this module never loads the native addon itself:
 * callers hand in the `Nft` context, and a plugin that needs no nftables never pays for loading libnftables.
 */
const nftNotFound = 'NFT_NOT_FOUND';
const nftExists = 'NFT_EXISTS';

function isNftError(error: unknown, code: string): boolean {
  return error instanceof Error && error.name === 'NftError' && (error as { code?: unknown }).code === code;
}

/** Attempts of one planned change (see `#change`). */
export const applyAttemptsMax = 3;

const emptyListing: OwnedListing = { sets: new Set(), elements: [] };

function describeOwner(tag: string): string {
  return tag === '' ? 'an untagged element' : `attachment ${tag}`;
}

function conflictError(wanted: OwnedElement, held: OwnedElement): CniError {
  return new CniError(NatCode.PortInUse, `Cannot add element ${elementIdentity(wanted)} for ${describeOwner(wanted.owner)}: ` +
    `${describeOwner(held.owner)} holds it with value ${valueIdentity(held)}`);
}

/** How many times a torn listing (see OwnedTable.list) is taken again before it is used as it is. */
const listAttemptsMax = 5;

function repeatsAnElement(listing: OwnedListing): boolean {
  return new Set(listing.elements.map((element) => JSON.stringify(element))).size !== listing.elements.length;
}

/**
 * A Berth-owned table in one network namespace (the one the `Nft` context is bound to). Every change lists the table,
 * computes the difference and applies it as one transaction, under a file lock so concurrent plugins never act on a
 * stale listing. The table is created on first use and deleted when its last element goes.
 */
export class OwnedTable {
  readonly spec: OwnedTableSpec;
  readonly #nft: NftRunner;
  readonly #lockPath: string;
  readonly #lockWait: LockWait;

  constructor(spec: OwnedTableSpec, options: OwnedTableOptions) {
    this.spec = spec;
    this.#nft = options.nft;
    this.#lockPath = options.lockPath ?? `${tableLockDirDefault}/${spec.family}-${spec.name}.lock`;
    this.#lockWait = options.lockWait ?? defaultLockWait;
  }

  /**
   * The table's owned sets and elements; empty when the table does not exist. A listing that names an element twice
   * raced the kernel growing a set's hash table (its dump re-walks the table and skips what it already sent, so a
   * repeated element means another was skipped, and a DEL would leave that one behind): it is listed again.
   */
  list(): OwnedListing {
    for (let attempt = 1; ; attempt += 1) {
      const listing = this.#listOnce();
      if (!repeatsAnElement(listing) || attempt >= listAttemptsMax) return listing;
    }
  }

  #listOnce(): OwnedListing {
    try {
      return readOwnedListing(this.spec, this.#nft.run({ list: { table: { family: this.spec.family, name: this.spec.name } } }));
    } catch (error) {
      if (isNftError(error, nftNotFound)) return emptyListing;
      throw error;
    }
  }

  /**
   * Makes `owner`'s elements in `sets` exactly `desired` (each of which must be owned by `owner` and be in `sets`):
   * ADD passes what it needs, DEL passes nothing. Idempotent. A key another owner holds with a different value
   * (a host port mapped to another container) is a `PortInUse` error and changes nothing.
   */
  async sync(owner: string, sets: readonly string[], desired: readonly OwnedElement[]): Promise<OwnedTableChange> {
    for (const element of desired) {
      if (element.owner !== owner || !sets.includes(element.set)) {
        throw new TypeError(`OwnedTable.sync: element ${elementIdentity(element)} of ${element.owner} is outside owner ${owner} / sets ${sets.join(',')}`);
      }
    }
    return this.#locked(() => this.#sync(owner, sets, desired));
  }

  /** GC: removes the elements of `network`'s attachments whose tags are not in `keep`. */
  async collect(network: string, keep: ReadonlySet<string>, sets: readonly string[] = this.spec.sets): Promise<OwnedTableChange> {
    return this.#locked(() => this.#change((listing) => ({
      added: [],
      removed: listing.elements.filter((element) =>
        sets.includes(element.set) && tagInNetwork(element.owner, network) && !keep.has(element.owner)),
      takenOver: [],
    })));
  }

  /** CHECK: the desired elements that are absent, or present with another value or owner. */
  missing(desired: readonly OwnedElement[]): OwnedElement[] {
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

  #sync(owner: string, sets: readonly string[], desired: readonly OwnedElement[]): OwnedTableChange {
    if (desired.length > 0 && this.list().sets.size === 0) this.#create();
    return this.#change((listing) => {
      const missingSets = [...new Set(desired.map((element) => element.set))].filter((set) => !listing.sets.has(set));
      if (missingSets.length > 0) {
        throw new CniError(NatCode.RulesetDamaged, `Cannot add elements: table ${this.spec.family} ${this.spec.name} lacks ${missingSets.join(', ')}; delete the table to let Berth recreate it`);
      }
      const held = new Map(listing.elements.map((element) => [elementIdentity(element), element]));
      const wanted = new Set(desired.map(fullIdentity));
      const added: OwnedElement[] = [];
      const removed: OwnedElement[] = listing.elements.filter((element) =>
        element.owner === owner && sets.includes(element.set) && !wanted.has(fullIdentity(element)));
      const takenOver: OwnedElement[] = [];
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
      return { added, removed, takenOver };
    });
  }

  /**
   * Lists, plans, applies. A transaction that fails in libnftables (e.g. its netlink receive interrupted by a signal,
   * when the kernel may or may not have committed) is planned again from a fresh listing, at most
   * `applyAttemptsMax` times: the plan is a difference, so a second attempt after a commit plans nothing.
   */
  #change(plan: (listing: OwnedListing) => Pick<OwnedTableChange, 'added' | 'removed' | 'takenOver'>): OwnedTableChange {
    for (let attempt = 1; ; attempt += 1) {
      const listing = this.list();
      const { added, removed, takenOver } = plan(listing);
      try {
        return this.#apply(listing, added, removed, takenOver);
      } catch (error) {
        if (attempt >= applyAttemptsMax || !(error instanceof Error && error.name === 'NftError')) throw error;
      }
    }
  }

  /**
   * One transaction: deletions first (they free keys the additions reuse), then additions, then the table when it is
   * left without elements — including a table that never got any (a plugin killed between creating it and adding its
   * elements: the next DEL or GC removes it). Creation and this run under the same lock, so no one is mid-ADD.
   */
  #apply(listing: OwnedListing, added: readonly OwnedElement[], removed: readonly OwnedElement[],
    takenOver: readonly OwnedElement[]): OwnedTableChange {
    const deletions = [...removed, ...takenOver];
    const tableRemoved = listing.sets.size > 0 && added.length === 0 && deletions.length === listing.elements.length;
    const commands: NftCommand[] = [...deleteElementCommands(this.spec, deletions), ...addElementCommands(this.spec, added)];
    if (tableRemoved) commands.push({ delete: { table: { family: this.spec.family, name: this.spec.name } } });
    if (commands.length > 0) this.#nft.run({ nftables: commands });
    return { added, removed, takenOver, tableRemoved };
  }

  /** Creates the table with its fixed part, or finds the one another process just made. */
  #create(): void {
    try {
      this.#nft.run(this.spec.baseScript());
    } catch (error) {
      if (!isNftError(error, nftExists)) throw error;
    }
  }
}
