import type { Revision } from './revision.js';

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly createRevision: Revision;
  readonly modRevision: Revision;
  readonly version: number;
  readonly lease: string | undefined;
}

export interface GetResult {
  /** The store revision the read was served at. */
  readonly revision: Revision;
  readonly kv: KeyValue | undefined;
}

export interface ListResult {
  readonly revision: Revision;
  readonly kvs: readonly KeyValue[];
}

/** A precondition: the key's mod revision is exactly this (`absent` = the key does not exist). */
export interface Compare {
  readonly key: string;
  readonly modRevision: Revision;
}

/**
 * A precondition over a whole prefix: no key under it was created or changed after `revision` (the revision of a
 * listing of that prefix). Deletions are not seen: they only free what the listing showed as taken. This is how a
 * writer claims something unique (a subnet, a VNI) among keys owned by others, without a shared index key.
 */
export interface PrefixCompare {
  readonly prefix: string;
  readonly unchangedSince: Revision;
}

export type AnyCompare = Compare | PrefixCompare;

export function isPrefixCompare(compare: AnyCompare): compare is PrefixCompare {
  return 'prefix' in compare;
}

export type TxnOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: Buffer; readonly lease?: string }
  | { readonly kind: 'delete'; readonly key: string };

export interface TxnResult {
  /** Whether every compare held (so the success ops ran). */
  readonly succeeded: boolean;
  /** The store revision after the transaction (unchanged when it failed or changed nothing). */
  readonly revision: Revision;
}

export interface WatchEvent {
  readonly kind: 'put' | 'delete';
  readonly key: string;
  /** Empty for deletes. */
  readonly value: Buffer;
  readonly modRevision: Revision;
}

export interface WatchOptions {
  /** Deliver every change with a revision at or above this one. */
  readonly fromRevision: Revision;
  /** Changes in revision order, never twice, never skipped, unless a resync replaces them. */
  readonly onEvents: (events: readonly WatchEvent[]) => void;
  /**
   * The revision to resume from was compacted: here is the full current state under the prefix at `revision`;
   * events continue from `revision + 1`.
   */
  readonly onResync: (kvs: readonly KeyValue[], revision: Revision) => void;
  /** Progress: every change up to `revision` has been delivered. */
  readonly onProgress?: (revision: Revision) => void;
}

export interface WatchHandle {
  /** The highest revision whose changes were all delivered. */
  readonly deliveredRevision: Revision;
  readonly resyncs: number;
  /** How many revisions the store is known to be ahead of what was delivered (0 when caught up). */
  readonly lagRevisions: number;
  close(): Promise<void>;
}

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Called once if the lease expires or cannot be kept alive. */
  onLost(handler: (error: Error) => void): void;
  revoke(): Promise<void>;
  /** Stops keeping it alive without revoking; it then expires after its TTL. */
  release(): void;
}

/**
 * The port to the replicated key-value store: etcd in production, an in-memory double in unit tests; one contract
 * suite runs against both. Reads are linearizable; every multi-key change is one transaction.
 */
export interface KvStore {
  get(key: string): Promise<GetResult>;
  list(prefix: string): Promise<ListResult>;
  txn(compares: readonly AnyCompare[], success: readonly TxnOp[], failure?: readonly TxnOp[]): Promise<TxnResult>;
  watch(prefix: string, options: WatchOptions): WatchHandle;
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** Drops history before `revision` (as etcd's auto-compaction does). */
  compact(revision: Revision): Promise<void>;
  close(): Promise<void>;
}
