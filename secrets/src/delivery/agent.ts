import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@berth/cni';
import type { Store } from '../store/typed-store.js';
import type { AssignmentsRequest, AssignmentsResponse, TaskAssignment } from '../secrets/dispatcher.js';
import { SecretError, SecretErrorCode } from '../secrets/errors.js';
import { assertServiceName, parseLabels } from '../secrets/names.js';
import { tasksCollection, type TaskRecord } from '../secrets/schema.js';
import { listNodeTasks } from '../secrets/tasks.js';
import { writeAtomically } from './atomic-writer-fs.js';
import type { ProjectedFile } from './atomic-writer.js';
import { DeliveryMetrics } from './metrics.js';
import { isMountPoint, mountSecretsTmpfs, secretsDirOf, secretsRoot, unmountSecretsTmpfs } from './tmpfs.js';

/** OCI container ids as runc accepts them, bounded to what a store key segment allows. */
const containerIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const pollWaitMs = 20_000;
export const pollBackoffMsMax = 2_000;
export const tasksPerHostMax = 256;

export interface TaskView {
  readonly containerId: string;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly secretsDir: string;
  readonly secrets: readonly string[];
}

interface TaskState {
  readonly containerId: string;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly secretsDir: string;
  secrets: readonly string[];
  fingerprint: string;
  appliedRevision: number;
  versions: ReadonlyMap<string, number>;
  queue: Promise<unknown>;
}

export interface DeliveryAgentOptions {
  readonly store: Store;
  readonly nodeId: string;
  readonly runDir: string;
  readonly logger: Logger;
  readonly fetchAssignments: (request: AssignmentsRequest, signal?: AbortSignal) => Promise<AssignmentsResponse>;
  readonly metrics: DeliveryMetrics;
  readonly tmpfsBytes?: number;
}

export function parseTaskInput(body: unknown): { containerId: string; service: string; labels: Record<string, string> } {
  const v = body as { containerId?: unknown; service?: unknown; labels?: unknown } | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SecretError(SecretErrorCode.TaskInvalid, 'Invalid task: expected a JSON object');
  const extra = Object.keys(v).find((key) => !['containerId', 'service', 'labels'].includes(key));
  if (extra !== undefined) throw new SecretError(SecretErrorCode.TaskInvalid, `Invalid task: unknown field ${JSON.stringify(extra.slice(0, 40))}`);
  assertContainerId(v.containerId);
  try {
    assertServiceName(v.service);
    return { containerId: v.containerId, service: v.service, labels: parseLabels(v.labels) };
  } catch (error) {
    throw new SecretError(SecretErrorCode.TaskInvalid, `Invalid task: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function assertContainerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !containerIdPattern.test(id)) {
    throw new SecretError(SecretErrorCode.TaskInvalid, `Invalid container id ${JSON.stringify(String(id).slice(0, 70))}: expected 1-128 of [a-zA-Z0-9_.-]`);
  }
}

/**
 * The host side of delivery (swarm's agent/secrets): registers this host's tasks in the store, gives each its own
 * tmpfs, and keeps its files equal to what a manager assigns (asked at registration, then by long poll on every
 * change). Plaintext is held only while it is written, then zeroed.
 */
export class DeliveryAgent {
  readonly #options: DeliveryAgentOptions;
  readonly #tasks = new Map<string, TaskState>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: DeliveryAgentOptions) {
    this.#options = options;
  }

  get metrics(): DeliveryMetrics { return this.#options.metrics; }

  /**
   * Reconciles after a restart: a task whose tmpfs is still mounted is a container still running (mounts outlive
   * berthd) and is picked up again; a task without one (deregistered while the store was unreachable, or the host
   * rebooted) is dropped from the store, never resurrected; a secrets dir no task owns (a registration cut short by
   * a crash) is removed. Then polling starts.
   */
  async start(): Promise<void> {
    const { store, nodeId, runDir, logger } = this.#options;
    const { tasks } = await listNodeTasks(store.kv, nodeId);
    const owned = new Set(tasks.map((task) => task.containerId));
    for (const name of await readdir(secretsRoot(runDir)).catch(() => [])) {
      if (!owned.has(name)) await unmountSecretsTmpfs(join(secretsRoot(runDir), name));
    }
    for (const task of tasks) {
      if (await isMountPoint(secretsDirOf(runDir, task.containerId))) {
        this.#tasks.set(task.containerId, { ...this.#view(task), fingerprint: '', appliedRevision: 0, versions: new Map(), queue: Promise.resolve() });
      } else {
        logger.info({ containerId: task.containerId }, 'dropping a task whose secrets tmpfs is gone');
        await store.delete(tasksCollection(nodeId), task.containerId).catch(() => undefined);
      }
    }
    this.#loop = this.#pollLoop();
  }

  list(): TaskView[] {
    return [...this.#tasks.values()].map((task) => this.#view(task));
  }

  #view(task: TaskRecord | TaskView): TaskView {
    const secrets = 'secrets' in task ? task.secrets : [];
    return { containerId: task.containerId, service: task.service, labels: task.labels, secretsDir: secretsDirOf(this.#options.runDir, task.containerId), secrets };
  }

  /** `POST /v1/tasks`: answers once the container's granted secrets are in place; undoes everything on failure. */
  async register(input: { containerId: string; service: string; labels: Record<string, string> }): Promise<TaskView> {
    const existing = this.#tasks.get(input.containerId);
    if (existing !== undefined) {
      if (existing.service !== input.service) throw new SecretError(SecretErrorCode.TaskInvalid, `Container ${input.containerId} is already registered for service ${existing.service}`);
      return this.#view(existing);
    }
    if (this.#tasks.size >= tasksPerHostMax) throw new SecretError(SecretErrorCode.TaskInvalid, `This host already runs ${tasksPerHostMax} registered containers, the limit`);
    const { store, nodeId, runDir } = this.#options;
    const secretsDir = secretsDirOf(runDir, input.containerId);
    const state: TaskState = { ...input, secretsDir, secrets: [], fingerprint: '', appliedRevision: 0, versions: new Map(), queue: Promise.resolve() };
    const record: TaskRecord = { ...input, nodeId, registeredAt: new Date().toISOString() };
    this.#tasks.set(input.containerId, state);
    try {
      // Both settle before a failure is undone, so the undo never races a write still on its way.
      const outcomes = await Promise.allSettled([mountSecretsTmpfs(secretsDir, this.#options.tmpfsBytes), store.put(tasksCollection(nodeId), input.containerId, record)]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
      const response = await this.#options.fetchAssignments({ have: this.#have(), containerIds: [input.containerId], waitMs: 0 });
      await this.#apply(response);
      if (state.appliedRevision === 0) await this.#write(state, { containerId: input.containerId, fingerprint: '', secrets: [] }, response.revision);
      return this.#view(state);
    } catch (error) {
      this.#tasks.delete(input.containerId);
      await store.delete(tasksCollection(nodeId), input.containerId).catch(() => undefined);
      await unmountSecretsTmpfs(secretsDir).catch(() => undefined);
      throw error instanceof SecretError ? error : new SecretError(SecretErrorCode.DeliveryFailed, `Cannot register container ${input.containerId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * `DELETE /v1/tasks/<id>`: the tmpfs is emptied and unmounted first (the plaintext goes even when the store is
   * unreachable), then the record; idempotent.
   */
  async deregister(containerId: string): Promise<void> {
    assertContainerId(containerId);
    const state = this.#tasks.get(containerId);
    this.#tasks.delete(containerId);
    await state?.queue;
    await unmountSecretsTmpfs(secretsDirOf(this.#options.runDir, containerId));
    await this.#options.store.delete(tasksCollection(this.#options.nodeId), containerId);
  }

  /** Stops polling; `dropTasks` (the host left the cluster) also empties and unmounts every task's tmpfs. */
  async close(options: { dropTasks: boolean }): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    if (!options.dropTasks) return;
    for (const [containerId, state] of this.#tasks) {
      await state.queue;
      await unmountSecretsTmpfs(state.secretsDir).catch((error: unknown) => this.#options.logger.warn({ containerId, err: String(error) }, 'cannot unmount secrets'));
    }
    this.#tasks.clear();
  }

  #have(): Record<string, string> {
    return Object.fromEntries([...this.#tasks].map(([id, state]) => [id, state.fingerprint]));
  }

  async #pollLoop(): Promise<void> {
    let backoffMs = 0;
    while (!this.#abort.signal.aborted) {
      try {
        const response = await this.#options.fetchAssignments({ have: this.#have(), containerIds: [], waitMs: pollWaitMs }, this.#abort.signal);
        await this.#apply(response);
        backoffMs = 0;
      } catch (error) {
        if (this.#abort.signal.aborted) break;
        this.#options.metrics.failures += 1;
        backoffMs = Math.min(pollBackoffMsMax, Math.max(100, backoffMs * 2));
        this.#options.logger.warn({ err: error instanceof Error ? error.message : String(error), retryMs: backoffMs }, 'secret assignments: poll failed');
        await sleep(backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      }
    }
  }

  async #apply(response: AssignmentsResponse): Promise<void> {
    await Promise.all(response.tasks.map(async (assignment) => {
      const state = this.#tasks.get(assignment.containerId);
      if (state === undefined) return;
      const run = state.queue.then(() => (this.#tasks.get(assignment.containerId) === state && response.revision >= state.appliedRevision && assignment.fingerprint !== state.fingerprint
        ? this.#write(state, assignment, response.revision)
        : undefined));
      state.queue = run.catch(() => undefined);
      await run;
    }));
  }

  async #write(state: TaskState, assignment: TaskAssignment, revision: number): Promise<void> {
    const files: ProjectedFile[] = assignment.secrets.map((secret) => ({
      name: secret.target, mode: secret.mode, uid: secret.uid, gid: secret.gid, data: Buffer.from(secret.value, 'base64'),
    }));
    try {
      await writeAtomically(state.secretsDir, files);
    } finally {
      for (const file of files) file.data.fill(0);
    }
    const now = Date.now();
    for (const secret of assignment.secrets) {
      if (state.versions.get(secret.target) !== secret.version && state.appliedRevision !== 0) this.#options.metrics.observeLag(now - Date.parse(secret.committedAt));
    }
    this.#options.metrics.deliveries += 1;
    state.fingerprint = assignment.fingerprint;
    state.appliedRevision = revision;
    state.versions = new Map(assignment.secrets.map((secret) => [secret.target, secret.version]));
    state.secrets = assignment.secrets.map((secret) => secret.target);
  }
}
