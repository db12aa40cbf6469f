import { StoreError } from './errors.js';
import { keyspaceRoot, type Collection } from './keyspace.js';
import type { AnyCompare, KeyValue, KvStore, Lease, TxnOp, WatchHandle } from './kv-store.js';
import { StoreMetrics, type StoreOp } from './metrics.js';
import { absent, type Revision } from './revision.js';

/** A decoded entry and the revisions that let a caller change it conditionally. */
export interface Versioned<T> {
  readonly id: string;
  readonly value: T;
  readonly modRevision: Revision;
  readonly createRevision: Revision;
}

export type Change<T> =
  | { readonly kind: 'put'; readonly id: string; readonly value: T; readonly modRevision: Revision }
  | { readonly kind: 'delete'; readonly id: string; readonly modRevision: Revision };

export interface TypedWatchOptions<T> {
  readonly fromRevision: Revision;
  readonly onChanges: (changes: readonly Change<T>[]) => void;
  readonly onResync: (entries: readonly Versioned<T>[], revision: Revision) => void;
}

/** Several collection changes applied together or not at all, guarded by revision preconditions. */
export class Transaction {
  readonly #store: Store;
  readonly #compares: AnyCompare[] = [];
  readonly #ops: TxnOp[] = [];

  constructor(store: Store) {
    this.#store = store;
  }

  /** The entry must be at exactly this mod revision (`absent`: must not exist). */
  require<T>(collection: Collection<T>, id: string, modRevision: Revision): this {
    this.#compares.push({ key: collection.key(id), modRevision });
    return this;
  }

  /**
   * No key under `prefix` (a keyspace prefix, e.g. a collection's) was created or changed after `revision`, the
   * revision of the listing the caller decided from.
   */
  requireUnchangedSince(prefix: string, revision: Revision): this {
    if (!prefix.startsWith(keyspaceRoot) || !prefix.endsWith('/')) throw new RangeError(`Invalid prefix ${JSON.stringify(prefix)}: expected ${keyspaceRoot}…/`);
    this.#compares.push({ prefix, unchangedSince: revision });
    return this;
  }

  put<T>(collection: Collection<T>, id: string, value: T, options: { lease?: Lease } = {}): this {
    this.#ops.push(opPut(collection, id, value, options.lease));
    return this;
  }

  delete<T>(collection: Collection<T>, id: string): this {
    this.#ops.push({ kind: 'delete', key: collection.key(id) });
    return this;
  }

  commit(): Promise<{ succeeded: boolean; revision: Revision }> {
    return this.#store.runTxn('txn', () => [this.#compares, this.#ops]);
  }
}

/** The typed face of the store: collections in, decoded values out; every write is one transaction. */
export class Store {
  readonly kv: KvStore;
  readonly metrics: StoreMetrics;

  constructor(kv: KvStore, metrics: StoreMetrics = new StoreMetrics()) {
    this.kv = kv;
    this.metrics = metrics;
  }

  async get<T>(collection: Collection<T>, id: string): Promise<Versioned<T> | undefined> {
    const { kv } = await this.#counted('get', () => this.kv.get(collection.key(id)));
    return kv === undefined ? undefined : decodeEntry(collection, kv);
  }

  async list<T>(collection: Collection<T>): Promise<{ revision: Revision; entries: Versioned<T>[] }> {
    const result = await this.#counted('list', () => this.kv.list(collection.prefix));
    return { revision: result.revision, entries: result.kvs.map((kv) => decodeEntry(collection, kv)) };
  }

  async put<T>(collection: Collection<T>, id: string, value: T, options: { lease?: Lease } = {}): Promise<Revision> {
    return (await this.runTxn('put', () => [[], [opPut(collection, id, value, options.lease)]])).revision;
  }

  /** Writes only if the entry does not exist; false if it does. */
  async create<T>(collection: Collection<T>, id: string, value: T, options: { lease?: Lease } = {}): Promise<boolean> {
    return (await this.runTxn('create', () => [[{ key: collection.key(id), modRevision: absent }], [opPut(collection, id, value, options.lease)]])).succeeded;
  }

  /** Writes only if the entry is at `expected` (`absent` for "does not exist"); false otherwise. */
  async compareAndSwap<T>(collection: Collection<T>, id: string, expected: Revision, value: T): Promise<{ swapped: boolean; revision: Revision }> {
    const result = await this.runTxn('cas', () => [[{ key: collection.key(id), modRevision: expected }], [opPut(collection, id, value, undefined)]]);
    return { swapped: result.succeeded, revision: result.revision };
  }

  /** Deletes (if at `expected`, when given); true when the precondition held. */
  async delete<T>(collection: Collection<T>, id: string, expected?: Revision): Promise<boolean> {
    return (await this.runTxn('delete', () => [
      expected === undefined ? [] : [{ key: collection.key(id), modRevision: expected }],
      [{ kind: 'delete', key: collection.key(id) }],
    ])).succeeded;
  }

  transaction(): Transaction {
    return new Transaction(this);
  }

  watch<T>(collection: Collection<T>, options: TypedWatchOptions<T>): WatchHandle {
    this.metrics.countOp('watch');
    let untrack = (): void => undefined;
    const handle = this.kv.watch(collection.prefix, {
      fromRevision: options.fromRevision,
      onEvents: (events) => options.onChanges(events.map((event) => (event.kind === 'delete'
        ? { kind: 'delete' as const, id: collection.idOf(event.key), modRevision: event.modRevision }
        : { kind: 'put' as const, id: collection.idOf(event.key), value: collection.decode(event.value, event.key), modRevision: event.modRevision }))),
      onResync: (kvs, revision) => options.onResync(kvs.map((kv) => decodeEntry(collection, kv)), revision),
    });
    untrack = this.metrics.trackWatch(() => ({ lag: handle.lagRevisions, resyncs: handle.resyncs }));
    return {
      get deliveredRevision() { return handle.deliveredRevision; },
      get resyncs() { return handle.resyncs; },
      get lagRevisions() { return handle.lagRevisions; },
      close: async () => {
        untrack();
        await handle.close();
      },
    };
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.#counted('lease', () => this.kv.grantLease(ttlSeconds));
  }

  /** @internal the one path every write takes, so ops and errors are counted once. */
  runTxn(op: StoreOp, build: () => [readonly AnyCompare[], readonly TxnOp[]]): Promise<{ succeeded: boolean; revision: Revision }> {
    return this.#counted(op, () => {
      const [compares, ops] = build();
      return this.kv.txn(compares, ops);
    });
  }

  async #counted<R>(op: StoreOp, call: () => Promise<R>): Promise<R> {
    this.metrics.countOp(op);
    try {
      return await call();
    } catch (error) {
      this.metrics.countError(op, error instanceof StoreError ? error.code : 'OTHER');
      throw error;
    }
  }
}

function opPut<T>(collection: Collection<T>, id: string, value: T, lease: Lease | undefined): TxnOp {
  const key = collection.key(id);
  const bytes = collection.encode(value);
  return lease === undefined ? { kind: 'put', key, value: bytes } : { kind: 'put', key, value: bytes, lease: lease.id };
}

function decodeEntry<T>(collection: Collection<T>, kv: KeyValue): Versioned<T> {
  return { id: collection.idOf(kv.key), value: collection.decode(kv.value, kv.key), modRevision: kv.modRevision, createRevision: kv.createRevision };
}
