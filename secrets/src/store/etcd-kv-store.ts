import {
  Etcd3, EtcdPermissionDeniedError, GRPCFailedPreconditionError, GRPCInvalidArgumentError, GRPCResourceExhastedError,
  type ICompare, type IKeyValue, type IOptions, type IRequestOp,
} from 'etcd3';
import { createLogger, type Logger } from '@berth/cni';
import { EtcdPrefixWatch } from './etcd-watch.js';
import { HostBreaker } from './host-breaker.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { isPrefixCompare, type AnyCompare, type GetResult, type KeyValue, type KvStore, type Lease, type ListResult, type TxnOp, type TxnResult, type WatchHandle, type WatchOptions } from './kv-store.js';
import { toRevision, type Revision } from './revision.js';
import { TlsIdentity, withChannelCredentials, type ServerIdentityCheck } from './tls-credentials.js';

export interface EtcdTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Limits of the etcd-backed store, validated at construction. */
export interface EtcdKvStoreLimits {
  /** Deadline of one unary call; past it a write is an unknown outcome. */
  readonly requestTimeoutMs: number;
  /** Reads are retried (on another member) this many times in all; writes only when they never left this process (a retry could apply twice). */
  readonly readAttemptsMax: number;
  readonly readRetryBackoffMs: number;
  readonly dialTimeoutMs: number;
}

export const etcdKvStoreLimitsDefault: EtcdKvStoreLimits = { requestTimeoutMs: 3_000, readAttemptsMax: 3, readRetryBackoffMs: 100, dialTimeoutMs: 3_000 };

export interface EtcdKvStoreOptions {
  readonly endpoints: readonly string[];
  readonly tls: EtcdTls;
  readonly limits?: Partial<EtcdKvStoreLimits>;
  /**
   * `linearizable` (default) reads go through the leader's read index. `serializable` reads are served from the
   * contacted member's local state and may be stale: it exists so the linearizability checker can be shown to catch
   * it. Nothing that decides access may use it.
   */
  readonly readConsistency?: 'linearizable' | 'serializable';
  /**
   * `circuit-breaker` (default): a member with consecutive transport failures is skipped for a while (HostBreaker).
   * `none`: every call goes out; for single-endpoint administrative clients that retry by themselves.
   */
  readonly hostFailover?: 'circuit-breaker' | 'none';
  /** Checks each member's certificate beyond the chain (Berth: the member must hold a manager certificate). */
  readonly checkServerIdentity?: ServerIdentityCheck;
  readonly logger?: Logger;
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;

/** A global policy that runs a call once: retries are decided here, per operation kind, not by the client. */
const runOnce = { execute: <T>(fn: (context: object) => PromiseLike<T> | T) => Promise.resolve(fn({})) } as unknown as NonNullable<FaultHandling['global']>;

/** The longest a watch stream or a member connection waits before it tries again: a healed partition resumes within it. */
export const reconnectBackoffMsMax = 1_000;

/**
 * The watch streams' reconnect delays: doubling from 50 ms up to reconnectBackoffMsMax. The client's default grows
 * to 30 s, which left a host's watches silent for up to half a minute after its partition healed.
 */
function watchReconnectBackoff(durationMs: number): NonNullable<FaultHandling['watchBackoff']> {
  return { duration: durationMs, next: () => watchReconnectBackoff(Math.min(durationMs * 2, reconnectBackoffMsMax)) };
}

/** The store over etcd v3 (the `etcd3` gRPC client) with mutual TLS. */
export class EtcdKvStore implements KvStore {
  readonly #client: Etcd3;
  readonly #identity: TlsIdentity;
  readonly #limits: EtcdKvStoreLimits;
  readonly #serializable: boolean;
  readonly #logger: Logger;
  readonly #leases = new Set<Lease>();
  readonly #watches = new Set<WatchHandle>();
  #closed = false;

  constructor(options: EtcdKvStoreOptions) {
    this.#limits = { ...etcdKvStoreLimitsDefault, ...options.limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isInteger(value) || value <= 0) throw new RangeError(`EtcdKvStore limit ${name} must be a positive integer, not ${value}`);
    }
    if (options.endpoints.length === 0) throw new RangeError('EtcdKvStore needs at least one endpoint');
    this.#serializable = options.readConsistency === 'serializable';
    this.#logger = options.logger ?? createLogger('store');
    const requestTimeoutMs = this.#limits.requestTimeoutMs;
    this.#identity = new TlsIdentity(options.tls);
    this.#client = withChannelCredentials(this.#identity.channelCredentials(options.checkServerIdentity), () => new Etcd3({
      hosts: [...options.endpoints],
      credentials: {
        rootCertificate: Buffer.from(options.tls.caPem),
        certChain: Buffer.from(options.tls.certPem),
        privateKey: Buffer.from(options.tls.keyPem),
      },
      dialTimeout: this.#limits.dialTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: {
        global: runOnce,
        host: options.hostFailover === 'none' ? () => runOnce : () => new HostBreaker() as unknown as NonNullable<FaultHandling['global']>,
        watchBackoff: watchReconnectBackoff(25),
      },
      grpcOptions: {
        'grpc.keepalive_time_ms': 5_000, 'grpc.keepalive_timeout_ms': 2_000, 'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': reconnectBackoffMsMax,
      },
    }));
  }

  /** A renewed client certificate: used from the next connection on; open connections, leases and watches go on. */
  updateIdentity(tls: { certPem: string; keyPem: string }): void {
    this.#identity.update(tls);
  }

  /** The underlying client, for membership and maintenance calls (member list, status). */
  get client(): Etcd3 { return this.#client; }

  async get(key: string): Promise<GetResult> {
    const response = await this.#read(`get ${key}`, () => this.#client.kv.range({ key: Buffer.from(key), serializable: this.#serializable }));
    const kv = response.kvs[0];
    return { revision: toRevision(response.header.revision), kv: kv === undefined ? undefined : toKeyValue(kv) };
  }

  async list(prefix: string): Promise<ListResult> {
    const key = Buffer.from(prefix);
    const response = await this.#read(`list ${prefix}`, () => this.#client.kv.range({ key, range_end: prefixEnd(key), serializable: this.#serializable }));
    return { revision: toRevision(response.header.revision), kvs: response.kvs.map(toKeyValue) };
  }

  async txn(compares: readonly AnyCompare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    this.#open();
    const request = {
      compare: compares.map(toCompare),
      success: success.map(toRequestOp),
      failure: failure.map(toRequestOp),
    };
    // An unconditional single put is sent as a Put, which etcd applies on a cheaper path than a Txn.
    const only = success[0];
    const plainPut = compares.length === 0 && failure.length === 0 && success.length === 1 && only?.kind === 'put' ? request.success[0]?.request_put : undefined;
    const sendDeadline = Date.now() + this.#limits.requestTimeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (plainPut !== undefined) {
          const response = await this.#client.kv.put(plainPut);
          return { succeeded: true, revision: toRevision(response.header.revision) };
        }
        const response = await this.#client.kv.txn(request);
        return { succeeded: response.succeeded, revision: toRevision(response.header.revision) };
      } catch (error) {
        // Only a call that never left this process may be sent again: a retry after it reached etcd could apply twice.
        // Members skipped by their breakers come back within its open window, so the retries are spread over a deadline.
        if (neverSent(error)) {
          if (Date.now() < sendDeadline && !this.#closed) {
            await new Promise((resolve) => setTimeout(resolve, this.#limits.readRetryBackoffMs * attempt));
            continue;
          }
          throw new StoreError(StoreErrorCode.Unavailable, `Cannot write ${describeKeys(compares, success)}: no etcd member could be reached (${message(error)}); nothing was applied`, { cause: error });
        }
        throw this.#writeError(error, compares, success);
      }
    }
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    this.#open();
    const watch = new EtcdPrefixWatch({ client: this.#client, prefix, watch: options, list: (p) => this.list(p), logger: this.#logger });
    this.#watches.add(watch);
    return {
      get deliveredRevision() { return watch.deliveredRevision; },
      get resyncs() { return watch.resyncs; },
      get lagRevisions() { return watch.lagRevisions; },
      close: async () => {
        this.#watches.delete(watch);
        await watch.close();
      },
    };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.#open();
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 3600) throw new RangeError(`Invalid lease TTL ${ttlSeconds} s`);
    const lease = this.#client.lease(ttlSeconds, { autoKeepAlive: true });
    const id = await lease.grant().catch((error: unknown) => {
      lease.release();
      if (error instanceof EtcdPermissionDeniedError) throw new StoreError(StoreErrorCode.PermissionDenied, `Cannot grant a lease: ${message(error)}`, { cause: error });
      throw new StoreError(StoreErrorCode.Unavailable, `Cannot grant a lease of ${ttlSeconds} s: ${message(error)}`, { cause: error });
    });
    const handlers: Array<(error: Error) => void> = [];
    let lost: Error | undefined;
    lease.on('lost', (error) => {
      lost ??= new StoreError(StoreErrorCode.LeaseLost, `Lease ${id} lost: ${error.message}`);
      for (const handler of handlers.splice(0)) handler(lost);
    });
    const handle: Lease = {
      id,
      ttlSeconds,
      onLost: (handler) => (lost === undefined ? handlers.push(handler) : handler(lost)),
      revoke: async () => {
        this.#leases.delete(handle);
        await lease.revoke().catch(() => lease.release());
      },
      release: () => {
        this.#leases.delete(handle);
        lease.release();
      },
    };
    this.#leases.add(handle);
    return handle;
  }

  async compact(revision: Revision): Promise<void> {
    this.#open();
    await this.#client.kv.compact({ revision: String(revision), physical: true });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of [...this.#watches]) await watch.close();
    for (const lease of [...this.#leases]) lease.release();
    this.#client.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError(StoreErrorCode.Closed, 'The store is closed');
  }

  async #read<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.#open();
    let lastError: unknown;
    // Calls no member was sent to (every breaker open) are retried until the deadline, as writes are, so a read right
    // after members came back does not fail within the breakers' open window.
    const sendDeadline = Date.now() + this.#limits.requestTimeoutMs;
    for (let attempt = 1; attempt <= this.#limits.readAttemptsMax || (neverSent(lastError) && Date.now() < sendDeadline); attempt += 1) {
      try {
        return await call();
      } catch (error) {
        lastError = error;
        if (error instanceof EtcdPermissionDeniedError) throw new StoreError(StoreErrorCode.PermissionDenied, `Cannot read ${what}: ${message(error)}`, { cause: error });
        if (this.#closed) break;
        if (attempt < this.#limits.readAttemptsMax || (neverSent(error) && Date.now() < sendDeadline)) {
          await new Promise((resolve) => setTimeout(resolve, this.#limits.readRetryBackoffMs * attempt));
        }
      }
    }
    throw new StoreError(StoreErrorCode.Unavailable, `Cannot read ${what}: ${message(lastError)}`, { cause: lastError });
  }

  #writeError(error: unknown, compares: readonly AnyCompare[], ops: readonly TxnOp[]): StoreError {
    const keys = describeKeys(compares, ops);
    if (error instanceof EtcdPermissionDeniedError) return new StoreError(StoreErrorCode.PermissionDenied, `Cannot write ${keys}: ${error.message}`, { cause: error });
    if (error instanceof GRPCInvalidArgumentError) {
      return new StoreError(/too large/.test(error.message) ? StoreErrorCode.TooLarge : StoreErrorCode.InvalidValue, `Cannot write ${keys}: ${error.message}`, { cause: error });
    }
    if (error instanceof GRPCResourceExhastedError || error instanceof GRPCFailedPreconditionError) {
      return new StoreError(StoreErrorCode.Unavailable, `Cannot write ${keys}: ${error.message}`, { cause: error });
    }
    return new StoreError(StoreErrorCode.UnknownOutcome, `Write of ${keys} may or may not have been applied: ${message(error)}`, { cause: error });
  }
}

/** A prefix compare is etcd's range compare: every key in [prefix, prefixEnd) has mod_revision < since + 1. */
function toCompare(compare: AnyCompare): ICompare {
  if (!isPrefixCompare(compare)) return { key: Buffer.from(compare.key), target: 'Mod', result: 'Equal', mod_revision: String(compare.modRevision) };
  const key = Buffer.from(compare.prefix);
  return { key, range_end: prefixEnd(key), target: 'Mod', result: 'Less', mod_revision: String(compare.unchangedSince + 1) };
}

function toRequestOp(op: TxnOp): IRequestOp {
  if (op.kind === 'delete') return { request_delete_range: { key: Buffer.from(op.key) } };
  return { request_put: { key: Buffer.from(op.key), value: op.value, ...(op.lease === undefined ? {} : { lease: op.lease }) } };
}

function toKeyValue(kv: IKeyValue): KeyValue {
  const lease = kv.lease === '0' || kv.lease === '' ? undefined : kv.lease;
  return {
    key: kv.key.toString(),
    value: Buffer.from(kv.value),
    createRevision: toRevision(kv.create_revision),
    modRevision: toRevision(kv.mod_revision),
    version: Number(kv.version),
    lease,
  };
}

/** The smallest key greater than every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if ((end[i] ?? 0) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Failures raised before the request was written to any connection (no transport, or the member was skipped). */
function describeKeys(compares: readonly AnyCompare[], ops: readonly TxnOp[]): string {
  return [...new Set([...compares.map((c) => (isPrefixCompare(c) ? `${c.prefix}*` : c.key)), ...ops.map((op) => op.key)])].join(', ');
}

function neverSent(error: unknown): boolean {
  return /No connection established|etcd member skipped/.test(message(error));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
