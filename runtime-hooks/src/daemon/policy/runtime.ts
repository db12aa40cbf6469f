/**
 * berthd's policy service, following membership: in a cluster, a PolicySession enforces the store's policies and
 * endpoints on this host, and the local API's policy and endpoint routes write to the store through it; without a
 * cluster it runs nothing (the CLI and the CNI plugin use the state files, as before). `sync()` runs after start
 * and after each init/join/leave; when the store is not reachable at start (a restart during a partition) it keeps
 * retrying in the background while the kernel keeps the table the last berthd left.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CniCode, CniError, type Logger } from '@berth/cni';
import {
  FirewallCode, FirewallError, parseDocuments, type Attachment, type EndpointRecord, type EndpointRegistry, type RegistryFor,
} from '@berth/firewall';
import { SecretError, SecretErrorCode, StoreError, StoreErrorCode, type ClusterNode, type Revision, type Store } from '@berth/secrets';
import type { Sample } from '../metrics.js';
import { collectRevokedEndpoints } from './endpoint-gc.js';
import { policyDocumentsCollection, policySettingsCollection, settingsId, type RawDocument } from './schema.js';
import { PolicySession, type PolicySessionLimits, type Stream } from './session.js';
import {
  applyPolicies, collectEndpoints, findEndpoint, listOwnEndpoints, registerEndpoint, removePolicy, setClusterMonitor, unregisterEndpoint, type PolicyApplyOutcome,
} from './writes.js';

/** How often a manager drops the endpoints of revoked hosts. */
export const endpointGcIntervalMs = 5_000;
/** Back-off ceiling between start attempts while the store is unreachable. */
export const policyStartBackoffMsMax = 5_000;
/** How long a write waits for this host's kernel to enforce it before the call fails (the write stays committed). */
export const appliedWaitMsMax = 10_000;

export interface PolicyStatus {
  readonly cluster: boolean;
  /** The engine runs and its table is in step with what it was fed. */
  readonly enforcing: boolean;
  readonly storeReachable: boolean;
  readonly storeUnreachableSince: string | null;
  readonly lastSyncAt: string | null;
  /** Per stream, the store revision this host has seen every change up to. */
  readonly revisions: Record<Stream, number> | null;
  /** Digest of the enforced state (when asked for): equal on two hosts means they enforce the same policies and endpoints. */
  readonly digest: string | null;
  readonly documents: number;
  readonly endpoints: number;
  readonly invalidEntries: number;
  readonly generation: number | null;
  /** Kernel updates since this berthd loaded the policies, by mode (a rejected delta shows as an extra full one). */
  readonly updates: Record<'full' | 'incremental' | 'unchanged', number> | null;
  /** What a person should know, in one line. */
  readonly summary: string;
}

/** A store that does not answer is a reason to retry (CNI code 11), not an internal error. */
function storeUnavailable(error: unknown): never {
  if (error instanceof StoreError && error.code !== StoreErrorCode.InvalidKey && error.code !== StoreErrorCode.InvalidValue && error.code !== StoreErrorCode.TooLarge) {
    throw new FirewallError(FirewallCode.Unavailable, `The cluster store did not take the change (${error.message}); try again`, { cause: error });
  }
  throw error;
}

export class PolicyRuntime {
  readonly #node: ClusterNode;
  readonly #logger: Logger;
  readonly #limits: Partial<PolicySessionLimits>;
  #session: PolicySession | undefined;
  #target: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Endpoint writes, one at a time (this host is the only writer of its prefix). */
  #writes: Promise<unknown> = Promise.resolve();
  #startError: string | undefined;
  #gc: NodeJS.Timeout | undefined;
  readonly #netns: string | undefined;

  /** `netns`: where the engine enforces (a path to a netns file); berthd's own namespace when undefined. */
  constructor(node: ClusterNode, options: { logger: Logger; limits?: Partial<PolicySessionLimits>; netns?: string | undefined }) {
    this.#node = node;
    this.#logger = options.logger;
    this.#limits = options.limits ?? {};
    this.#netns = options.netns;
  }

  async sync(): Promise<void> {
    const target = this.#node.active?.state.nodeId;
    if (target === this.#target) return;
    this.#target = target;
    await this.#serial(() => this.#closeSession());
    if (target !== undefined) void this.#startLoop(target);
  }

  stop(): Promise<void> {
    this.#target = undefined;
    return this.#serial(() => this.#closeSession());
  }

  async #startLoop(target: string): Promise<void> {
    for (let attempt = 1; this.#target === target && this.#session === undefined; attempt += 1) {
      try {
        await this.#serial(async () => {
          const active = this.#node.active;
          if (this.#target !== target || this.#session !== undefined || active === undefined) return;
          this.#session = await PolicySession.open({
            nodeId: target, kv: active.kv, logger: this.#logger, limits: this.#limits, ...(this.#netns === undefined ? {} : { netns: this.#netns }),
          });
          this.#startError = undefined;
          this.#collectGarbage();
        });
      } catch (error) {
        this.#startError = error instanceof Error ? error.message : String(error);
        this.#logger.warn({ err: this.#startError, attempt }, 'policy: cannot load the cluster\'s policies yet; the kernel keeps its table; retrying');
        await sleep(Math.min(policyStartBackoffMsMax, 250 * attempt));
      }
    }
  }

  async #closeSession(): Promise<void> {
    clearInterval(this.#gc);
    this.#gc = undefined;
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
  }

  /** On managers: the endpoints of hosts that left or were removed go (endpoint-gc.ts). */
  #collectGarbage(): void {
    if (this.#node.active?.state.role !== 'manager') return;
    this.#gc = setInterval(() => {
      const active = this.#node.active;
      if (active?.state.role !== 'manager') return;
      collectRevokedEndpoints(active.store).then(
        (count) => { if (count > 0) this.#logger.info({ count }, 'policy: dropped the endpoints of hosts that left the cluster'); },
        (error: unknown) => this.#logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'policy: cannot drop the endpoints of hosts that left yet'),
      );
    }, endpointGcIntervalMs);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The running session; a clear error without a cluster or while it is still loading. */
  session(): PolicySession {
    if (this.#node.active === undefined) throw new SecretError(SecretErrorCode.NotInCluster, 'This host is not in a cluster: policies are kept in local files (the CLI path)');
    if (this.#session === undefined) {
      throw new FirewallError(FirewallCode.Unavailable, `berthd has not loaded the cluster's policies yet${this.#startError === undefined ? '' : ` (${this.#startError})`}; try again`);
    }
    return this.#session;
  }

  async #written(stream: Stream, revision: Revision | undefined, session: PolicySession): Promise<void> {
    if (revision === undefined || revision === 0) return;
    if (!(await session.waitApplied(stream, revision, appliedWaitMsMax))) {
      throw new FirewallError(FirewallCode.Unavailable, `The change is stored (revision ${revision}) but this host did not enforce it within ${appliedWaitMsMax} ms; see \`berth policy status\``);
    }
  }

  /** `berth policy apply` on a manager: one transaction; answers once this host enforces it. */
  async apply(text: string, defaultNamespace: string): Promise<PolicyApplyOutcome & { timings: { parseMs: number; storeMs: number; enforceMs: number } }> {
    const started = process.hrtime.bigint();
    const parsed = parseDocuments(text, { defaultNamespace });
    const active = this.#node.requireManager();
    const session = this.session();
    const parsedAt = process.hrtime.bigint();
    const outcome = await applyPolicies(active.store, parsed);
    const storedAt = process.hrtime.bigint();
    await this.#written('policies', outcome.revision, session);
    const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6;
    return { ...outcome, timings: { parseMs: ms(started, parsedAt), storeMs: ms(parsedAt, storedAt), enforceMs: ms(storedAt, process.hrtime.bigint()) } };
  }

  /** A policies/ write on a manager; answers once this host enforces it. */
  async #managerWrite(change: (store: Store) => Promise<Revision>): Promise<Revision> {
    const active = this.#node.requireManager();
    const session = this.session();
    const revision = await change(active.store);
    await this.#written('policies', revision, session);
    return revision;
  }

  remove(key: string): Promise<Revision> {
    return this.#managerWrite((store) => removePolicy(store, key));
  }

  setMonitor(monitor: boolean): Promise<Revision> {
    return this.#managerWrite((store) => setClusterMonitor(store, monitor));
  }

  /** The cluster's documents as applied, and the monitor flag (read linearizably from the store). */
  async list(): Promise<{ monitor: boolean; documents: RawDocument[]; revision: Revision }> {
    this.session();
    const { store } = this.#node.requireActive();
    const [documents, settings] = await Promise.all([store.list(policyDocumentsCollection), store.get(policySettingsCollection, settingsId)]);
    return { monitor: settings?.value.monitor ?? false, documents: documents.entries.map((entry) => entry.value), revision: documents.revision };
  }

  /** This host's endpoint registry (the CNI plugin's, served or over the local API). Writes are serialised. */
  registry(): EndpointRegistry & { registerAt(record: EndpointRecord): Promise<Revision> } {
    const store = () => this.#node.requireActive().store;
    const write = async (stream: Stream, change: (session: PolicySession) => Promise<Revision | undefined>): Promise<Revision | undefined> => {
      const session = this.session();
      const run = this.#writes.then(() => change(session).catch(storeUnavailable));
      this.#writes = run.catch(() => undefined);
      const revision = await run;
      await this.#written(stream, revision, session);
      return revision;
    };
    // This berthd is the only writer of its prefix and each write waits until its watch applied it, so while the
    // store answers, the watch's view holds every record of this host: no listing per container start.
    const own = (session: PolicySession) => (session.storeReachable ? async () => session.view.endpointsOf(session.nodeId) : listOwnEndpoints(store(), session.nodeId));
    const registerAt = async (record: EndpointRecord): Promise<Revision> => (await write('endpoints', (session) => registerEndpoint(store(), session.nodeId, record, own(session)))) ?? (0 as Revision);
    return {
      registerAt,
      register: async (record) => { await registerAt(record); },
      unregister: async (attachment: Attachment) => { await write('endpoints', (session) => unregisterEndpoint(store(), session.nodeId, attachment)); },
      find: (attachment) => findEndpoint(store(), this.session().nodeId, attachment).catch(storeUnavailable),
      collect: async (network, valid) => { await write('endpoints', (session) => collectEndpoints(store(), session.nodeId, network, new Set(valid))); },
      enforcing: async () => this.status().enforcing,
    };
  }

  /**
   * The CNI plugin's registry when berthd serves the call: in a cluster this one; none without. The engine enforces
   * in berthd's own network namespace, so a caller from another one (whose bridge berthd does not filter) is refused
   * rather than left unprotected.
   */
  readonly registryFor: RegistryFor = async (request) => {
    if (this.#node.active === undefined) return undefined;
    if (request.hostNetns !== undefined) {
      throw new CniError(CniCode.InvalidEnvironment, 'berth-firewall: in a cluster, berthd enforces policies in its own network namespace (the host\'s); this call comes from another one');
    }
    return this.registry();
  };

  /** `withDigest`: also hash the enforced state (costs a pass over every document and endpoint). */
  status(options: { withDigest?: boolean } = {}): PolicyStatus {
    const session = this.#session;
    if (this.#node.active === undefined) {
      return { cluster: false, enforcing: false, storeReachable: false, storeUnreachableSince: null, lastSyncAt: null, revisions: null, digest: null, documents: 0, endpoints: 0, invalidEntries: 0, generation: null, updates: null, summary: 'not in a cluster: policies are kept in local files' };
    }
    if (session === undefined) {
      return { cluster: true, enforcing: false, storeReachable: false, storeUnreachableSince: null, lastSyncAt: null, revisions: null, digest: null, documents: 0, endpoints: 0, invalidEntries: 0, generation: null, updates: null, summary: `not loaded from the store yet${this.#startError === undefined ? '' : ` (${this.#startError})`}; the kernel keeps the table it had` };
    }
    const since = session.unreachableSince?.toISOString() ?? null;
    const revisions = { policies: session.applied('policies'), endpoints: session.applied('endpoints') };
    return {
      cluster: true, enforcing: session.engine.inSync, storeReachable: session.storeReachable, storeUnreachableSince: since, lastSyncAt: session.lastSyncAt.toISOString(),
      revisions, digest: options.withDigest === true ? session.view.digest() : null, documents: session.view.documentCount, endpoints: session.view.endpointCount, invalidEntries: session.view.invalidEntries, generation: session.engine.generation, updates: { ...session.stats.updates },
      summary: session.storeReachable
        ? `in step with the store (policies at revision ${revisions.policies}, endpoints at ${revisions.endpoints})`
        : `STALE: the store is unreachable since ${since}; enforcing the last state (policies at revision ${revisions.policies}, endpoints at ${revisions.endpoints})`,
    };
  }

  metrics(): Sample[] {
    const status = this.status();
    if (!status.cluster) return [];
    const session = this.#session;
    const samples: Sample[] = [
      { name: 'berth_policy_enforcing', help: 'the cluster\'s policies are enforced on this host from the store (0: not loaded, or the table is not in step)', type: 'gauge', values: [{ value: status.enforcing ? 1 : 0 }] },
      { name: 'berth_policy_store_reachable', help: 'the store answers; 0: this host enforces the last state it had (stale)', type: 'gauge', values: [{ value: status.storeReachable ? 1 : 0 }] },
      { name: 'berth_policy_stale_seconds', help: 'how long this host has been enforcing a possibly stale state (0 when in step)', type: 'gauge', values: [{ value: status.storeUnreachableSince === null ? 0 : (Date.now() - Date.parse(status.storeUnreachableSince)) / 1000 }] },
    ];
    if (session === undefined || status.revisions === null) return samples;
    samples.push(
      { name: 'berth_policy_applied_revision', help: 'store revision enforced, per stream', type: 'gauge', values: Object.entries(status.revisions).map(([stream, value]) => ({ labels: { stream }, value })) },
      { name: 'berth_policy_documents', help: 'policy and namespace documents enforced', type: 'gauge', values: [{ value: status.documents }] },
      { name: 'berth_policy_endpoints', help: 'endpoints of all hosts enforced', type: 'gauge', values: [{ value: status.endpoints }] },
      { name: 'berth_policy_invalid_entries_total', help: 'store entries skipped because they did not parse', type: 'counter', values: [{ value: status.invalidEntries }] },
      { name: 'berth_policy_updates_total', help: 'kernel updates by mode', type: 'counter', values: Object.entries(session.stats.updates).map(([mode, value]) => ({ labels: { mode }, value })) },
      { name: 'berth_policy_update_failures_total', help: 'changes the kernel refused (the next one resyncs in full)', type: 'counter', values: [{ value: session.stats.failures }] },
      { name: 'berth_policy_store_losses_total', help: 'times the store became unreachable', type: 'counter', values: [{ value: session.stats.storeLosses }] },
      { name: 'berth_policy_last_update_ms', help: 'duration of the last kernel update (compile, render, transaction)', type: 'gauge', values: [{ value: session.stats.lastApplyMs }] },
    );
    return samples;
  }
}
