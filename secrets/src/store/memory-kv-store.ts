import { assert } from '../cluster/assert.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { isPrefixCompare, type AnyCompare, type GetResult, type KeyValue, type KvStore, type Lease, type ListResult, type TxnOp, type TxnResult, type WatchEvent, type WatchHandle, type WatchOptions } from './kv-store.js';
import { toRevision, type Revision } from './revision.js';

/** Bounds of the in-memory double, so a runaway test fails instead of eating memory. */
export const memoryHistoryEventsMax = 100_000;

interface MemoryWatch {
  readonly prefix: string;
  readonly options: WatchOptions;
  delivered: Revision;
  resyncs: number;
  closed: boolean;
}

/**
 * The test double of the store: one process, strictly serial, with etcd's revision semantics (one revision per
 * changing transaction, mod revisions, compaction that cancels watches from compacted revisions, leases whose expiry
 * deletes their keys). Leases expire only through `expireLease`, so tests control time.
 */
export class MemoryKvStore implements KvStore {
  readonly #data = new Map<string, KeyValue>();
  readonly #history: Array<WatchEvent> = [];
  readonly #watches = new Set<MemoryWatch>();
  readonly #leases = new Map<string, { ttlSeconds: number; lost: Array<(error: Error) => void> }>();
  #revision = toRevision(1);
  #compacted = toRevision(0);
  #nextLease = 1;
  #closed = false;

  get revision(): Revision { return this.#revision; }

  async get(key: string): Promise<GetResult> {
    this.#open();
    return { revision: this.#revision, kv: this.#data.get(key) };
  }

  async list(prefix: string): Promise<ListResult> {
    this.#open();
    const kvs = [...this.#data.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { revision: this.#revision, kvs };
  }

  async txn(compares: readonly AnyCompare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    this.#open();
    const succeeded = compares.every((compare) => (isPrefixCompare(compare)
      ? [...this.#data.values()].every((kv) => !kv.key.startsWith(compare.prefix) || kv.modRevision <= compare.unchangedSince)
      : (this.#data.get(compare.key)?.modRevision ?? 0) === compare.modRevision));
    const ops = succeeded ? success : failure;
    for (const op of ops) {
      if (op.kind === 'put' && op.lease !== undefined && !this.#leases.has(op.lease)) {
        throw new StoreError(StoreErrorCode.LeaseLost, `Cannot write ${op.key}: lease ${op.lease} not found`);
      }
    }
    const next = toRevision(this.#revision + 1);
    const events: WatchEvent[] = [];
    for (const op of ops) {
      const previous = this.#data.get(op.key);
      if (op.kind === 'delete') {
        if (previous === undefined) continue;
        this.#data.delete(op.key);
        events.push({ kind: 'delete', key: op.key, value: Buffer.alloc(0), modRevision: next });
      } else {
        this.#data.set(op.key, {
          key: op.key, value: Buffer.from(op.value), modRevision: next, createRevision: previous?.createRevision ?? next,
          version: (previous?.version ?? 0) + 1, lease: op.lease,
        });
        events.push({ kind: 'put', key: op.key, value: Buffer.from(op.value), modRevision: next });
      }
    }
    if (events.length > 0) this.#commit(next, events);
    return { succeeded, revision: this.#revision };
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    this.#open();
    const watch: MemoryWatch = { prefix, options, delivered: toRevision(Math.max(0, options.fromRevision - 1)), resyncs: 0, closed: false };
    this.#watches.add(watch);
    queueMicrotask(() => this.#catchUp(watch));
    const watches = this.#watches;
    return {
      get deliveredRevision() { return watch.delivered; },
      get resyncs() { return watch.resyncs; },
      lagRevisions: 0,
      close: async () => {
        watch.closed = true;
        watches.delete(watch);
      },
    };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.#open();
    const id = String(this.#nextLease++);
    const entry = { ttlSeconds, lost: [] as Array<(error: Error) => void> };
    this.#leases.set(id, entry);
    return {
      id,
      ttlSeconds,
      onLost: (handler) => entry.lost.push(handler),
      revoke: async () => this.expireLease(id),
      release: () => undefined,
    };
  }

  /** Test control: the lease's TTL ran out. Its keys are deleted in one revision and its holder is told. */
  expireLease(id: string): void {
    const entry = this.#leases.get(id);
    if (entry === undefined) return;
    this.#leases.delete(id);
    const keys = [...this.#data.values()].filter((kv) => kv.lease === id).map((kv) => ({ kind: 'delete' as const, key: kv.key }));
    void this.txn([], keys);
    for (const handler of entry.lost.splice(0)) handler(new StoreError(StoreErrorCode.LeaseLost, `Lease ${id} expired`));
  }

  async compact(revision: Revision): Promise<void> {
    this.#open();
    if (revision > this.#revision) throw new StoreError(StoreErrorCode.Compacted, `Cannot compact to ${revision}: beyond current revision ${this.#revision}`);
    if (revision <= this.#compacted) throw new StoreError(StoreErrorCode.Compacted, `Revision ${revision} is already compacted`);
    this.#compacted = revision;
    while (this.#history.length > 0 && (this.#history[0]?.modRevision ?? Infinity) <= revision) this.#history.shift();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const watch of this.#watches) watch.closed = true;
    this.#watches.clear();
  }

  #open(): void {
    if (this.#closed) throw new StoreError(StoreErrorCode.Closed, 'The store is closed');
  }

  #commit(revision: Revision, events: readonly WatchEvent[]): void {
    assert(revision === this.#revision + 1, 'revisions advance by one per changing transaction');
    this.#revision = revision;
    this.#history.push(...events);
    if (this.#history.length > memoryHistoryEventsMax) throw new Error(`MemoryKvStore history exceeds ${memoryHistoryEventsMax} events`);
    for (const watch of this.#watches) queueMicrotask(() => this.#catchUp(watch));
  }

  #catchUp(watch: MemoryWatch): void {
    if (watch.closed || watch.delivered >= this.#revision) return;
    if (watch.delivered < this.#compacted) {
      const kvs = [...this.#data.values()].filter((kv) => kv.key.startsWith(watch.prefix));
      watch.delivered = this.#revision;
      watch.resyncs += 1;
      watch.options.onResync(kvs, this.#revision);
      return;
    }
    const events = this.#history.filter((event) => event.modRevision > watch.delivered && event.key.startsWith(watch.prefix));
    watch.delivered = this.#revision;
    if (events.length > 0) watch.options.onEvents(events);
  }
}
