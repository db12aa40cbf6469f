import { createHash } from 'node:crypto';
import type { Logger } from '@berth/cni';
import { hostsCollection } from '../cluster/keys.js';
import type { WatchHandle } from '../store/kv-store.js';
import type { Revision } from '../store/revision.js';
import type { Store } from '../store/typed-store.js';
import { classifyKey, ChangeFeed } from './change-feed.js';
import { zero } from './crypto.js';
import { SecretError, SecretErrorCode } from './errors.js';
import type { Keyring } from './keyring.js';
import { grantCollection, secretMetaCollection, tasksPrefix, type GrantRecord, type TaskRecord } from './schema.js';
import type { SecretService } from './secret-service.js';
import { grantReaches, listGrants, listNodeTasks } from './tasks.js';

/** A long poll is answered after at most this long even when nothing changed (the worker then asks again). */
export const assignmentWaitMsMax = 25_000;
export const assignmentTasksMax = 256;

/** One granted secret as a host's berthd materialises it. `value` is base64 plaintext: it only ever travels over mTLS. */
export interface AssignedSecret {
  readonly name: string;
  readonly version: number;
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** When the change that made this assignment was committed (delivery lag is measured from it). */
  readonly committedAt: string;
  readonly value: string;
}

export interface TaskAssignment {
  readonly containerId: string;
  /** Digest of what is assigned (names, versions, targets, owners, modes; never values): the worker echoes it back. */
  readonly fingerprint: string;
  readonly secrets: readonly AssignedSecret[];
}

export interface AssignmentsRequest {
  /** Per container, the fingerprint of what the host has in place ('' = nothing yet). */
  readonly have: Readonly<Record<string, string>>;
  /** Containers that must be answered now (a task just registered); each must be registered for the caller's host. */
  readonly containerIds: readonly string[];
  readonly waitMs: number;
}

export interface AssignmentsResponse {
  readonly revision: number;
  readonly tasks: readonly TaskAssignment[];
}

interface PlannedSecret { readonly grant: GrantRecord; readonly version: number; readonly committedAt: string }
interface PlannedTask { readonly task: TaskRecord; readonly secrets: readonly PlannedSecret[]; readonly fingerprint: string }

const lockedError = (): SecretError => new SecretError(SecretErrorCode.Locked, 'This manager is locked or holds no cluster key; ask another manager');

async function allGrants(store: Store): Promise<GrantRecord[]> {
  return (await listGrants(store.kv)).map((entry) => entry.grant);
}

function fingerprintOf(secrets: readonly PlannedSecret[]): string {
  const facts = secrets.map(({ grant, version }) => [grant.secret, version, grant.target, grant.uid, grant.gid, grant.mode]);
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 32);
}

export function parseAssignmentsRequest(body: unknown): AssignmentsRequest {
  const v = body as { have?: unknown; containerIds?: unknown; waitMs?: unknown } | null;
  const invalid = (what: string): SecretError => new SecretError(SecretErrorCode.TaskInvalid, `Invalid assignments request: ${what}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('expected a JSON object');
  const have = v.have ?? {};
  if (typeof have !== 'object' || have === null || Array.isArray(have) || Object.keys(have).length > assignmentTasksMax) throw invalid('have must be an object');
  for (const value of Object.values(have)) if (typeof value !== 'string' || value.length > 64) throw invalid('fingerprints must be short strings');
  const containerIds = v.containerIds ?? [];
  if (!Array.isArray(containerIds) || containerIds.length > assignmentTasksMax || !containerIds.every((id) => typeof id === 'string' && id.length <= 128)) throw invalid('containerIds must be a list of ids');
  const waitMs = v.waitMs ?? 0;
  if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > assignmentWaitMsMax) throw invalid(`waitMs must be an integer in 0..${assignmentWaitMsMax}`);
  return { have: have as Record<string, string>, containerIds: containerIds as string[], waitMs };
}

/**
 * swarm's dispatcher for secrets: a host's berthd asks (with its node certificate) for the secrets of the containers
 * registered under its own node id; the answer holds only grants that reach those containers, decrypted here. A long
 * poll is answered as soon as a watched change (secret metadata, grants, tasks) alters what the host should have.
 */
export class Dispatcher {
  readonly #store: Store;
  readonly #service: SecretService;
  readonly #keyring: Keyring;
  readonly #logger: Logger;
  readonly #watches: WatchHandle[] = [];
  readonly #feed = new ChangeFeed();

  constructor(options: { store: Store; service: SecretService; keyring: Keyring; logger: Logger }) {
    this.#store = options.store;
    this.#service = options.service;
    this.#keyring = options.keyring;
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    const { revision } = await this.#store.kv.get(secretMetaCollection.prefix);
    for (const prefix of [secretMetaCollection.prefix, grantCollection.prefix, tasksPrefix]) {
      this.#watches.push(this.#store.kv.watch(prefix, {
        fromRevision: (revision + 1) as Revision,
        onEvents: (events) => this.#feed.publish(events.map((event) => classifyKey(event.key))),
        onResync: () => this.#feed.publish([{ kind: 'all' }]),
      }));
    }
  }

  async close(): Promise<void> {
    for (const watch of this.#watches.splice(0)) await watch.close();
    this.#feed.wakeAll();
  }

  async assignments(nodeId: string, request: AssignmentsRequest): Promise<AssignmentsResponse> {
    const deadline = Date.now() + request.waitMs;
    for (;;) {
      const generation = this.#feed.generation;
      const { revision, tasks } = await this.#plan(nodeId);
      const known = new Set(tasks.map((planned) => planned.task.containerId));
      const unknown = request.containerIds.find((id) => !known.has(id));
      if (unknown !== undefined) throw new SecretError(SecretErrorCode.TaskUnknown, `Container ${unknown.slice(0, 64)} is not registered on node ${nodeId}`);
      const wanted = new Set(request.containerIds);
      const changed = tasks.filter((planned) => wanted.has(planned.task.containerId) || request.have[planned.task.containerId] !== planned.fingerprint);
      if (changed.length > 0 || Date.now() >= deadline || this.#watches.length === 0) return { revision, tasks: await this.#materialise(changed) };
      // A locked manager could not deliver the change it would wait for: the host should wait on another manager.
      if (this.#keyring.state !== 'unlocked') throw lockedError();
      const interest = {
        nodeId,
        services: new Set(tasks.map((planned) => planned.task.service)),
        secrets: new Set(tasks.flatMap((planned) => planned.secrets.map((secret) => secret.grant.secret))),
      };
      await this.#feed.changeAfter(interest, generation, deadline - Date.now());
    }
  }

  /** Reads only what the node's tasks need: its tasks, the grants, the metadata of secrets granted to them. */
  async #plan(nodeId: string): Promise<{ revision: number; tasks: PlannedTask[] }> {
    const [{ revision, tasks }, grants, host] = await Promise.all([
      listNodeTasks(this.#store.kv, nodeId), allGrants(this.#store), this.#store.get(hostsCollection, nodeId),
    ]);
    const where = { nodeId, hostname: host?.value.hostname };
    const reaching = (task: TaskRecord): GrantRecord[] => grants.filter((grant) => grantReaches(grant, task, where));
    const names = [...new Set(tasks.flatMap((task) => reaching(task).map((grant) => grant.secret)))];
    const metas = await Promise.all(names.map((name) => this.#store.get(secretMetaCollection, name)));
    const current = new Map(metas.flatMap((meta) => (meta === undefined ? [] : [[meta.id, meta.value] as const])));
    return {
      revision,
      tasks: tasks.slice(0, assignmentTasksMax).map((task) => {
        const secrets = reaching(task)
          .filter((grant) => current.has(grant.secret))
          .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
          .filter((grant, index, all) => index === 0 || all[index - 1]?.target !== grant.target)
          .map((grant) => {
            const meta = current.get(grant.secret);
            const committedAt = [meta?.updatedAt ?? '', grant.createdAt].sort().at(-1) ?? '';
            return { grant, version: meta?.current ?? 0, committedAt };
          });
        return { task, secrets, fingerprint: fingerprintOf(secrets) };
      }),
    };
  }

  async #materialise(tasks: readonly PlannedTask[]): Promise<TaskAssignment[]> {
    const out: TaskAssignment[] = [];
    const needsKey = tasks.some((planned) => planned.secrets.length > 0);
    if (needsKey && this.#keyring.state !== 'unlocked') throw lockedError();
    for (const planned of tasks) {
      const secrets: AssignedSecret[] = [];
      for (const { grant, version, committedAt } of planned.secrets) {
        const plaintext = await this.#service.reveal(grant.secret, version);
        secrets.push({ name: grant.secret, version, target: grant.target, uid: grant.uid, gid: grant.gid, mode: grant.mode, committedAt, value: Buffer.from(plaintext).toString('base64') });
        zero(plaintext);
      }
      out.push({ containerId: planned.task.containerId, fingerprint: planned.fingerprint, secrets });
    }
    if (out.length > 0) this.#logger.debug({ tasks: out.map((task) => task.containerId) }, 'assignments sent');
    return out;
  }
}
