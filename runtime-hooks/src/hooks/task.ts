/**
 * The container as a task of its service with berthd (CONTRACTS.md "Tasks"): POST /v1/tasks on createRuntime,
 * DELETE /v1/tasks/<id> on poststop. Without a cluster (409 NOT_IN_CLUSTER), an older berthd without the route (404)
 * or no berthd at all, the container runs without secrets, unless it asked for some.
 */
import { isAbsolute } from 'node:path';
import { DaemonClientError, callDaemon } from '../daemon/client.js';
import { HookCode, HookError } from './errors.js';
import type { TaskRecord } from './record.js';

export const taskCallTimeoutMs = 15_000;

/** Answers meaning "no secrets delivery on this host", as opposed to a refusal. */
const absentCodes = new Set(['NOT_IN_CLUSTER', 'NOT_FOUND', 'UNREACHABLE']);

export interface TaskRequest {
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly containerId: string;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly secrets: readonly string[];
}

/** Call failures after which berthd may have registered the task all the same (so it must be deregistered). */
const uncertainCodes = new Set(['TIMEOUT', 'UNREACHABLE', 'BAD_ANSWER']);

/** True when a failed registration certainly left no task: berthd answered with an error, which changes nothing. */
export function refusedWithoutEffect(error: unknown): boolean {
  const cause = error instanceof HookError ? error.cause : error;
  return cause instanceof DaemonClientError && !uncertainCodes.has(cause.code);
}

/** `undefined`: berthd does not deliver secrets here, and the container asked for none. */
export async function registerTask(request: TaskRequest): Promise<TaskRecord | undefined> {
  let answer: unknown;
  try {
    answer = await callDaemon({
      socketPath: request.socketPath, method: 'POST', path: '/v1/tasks', timeoutMs: request.timeoutMs,
      body: { containerId: request.containerId, service: request.service, labels: request.labels },
    });
  } catch (error) {
    if (error instanceof DaemonClientError && absentCodes.has(error.code)) {
      if (request.secrets.length === 0) return undefined;
      throw new HookError(HookCode.SecretsUnavailable, `Cannot deliver secrets ${request.secrets.join(', ')} to service ${request.service}: ${error.message}`, { cause: error });
    }
    throw new HookError(HookCode.TaskRefused, `berthd refused task ${request.containerId} of service ${request.service}: ${(error as Error).message}`, { cause: error });
  }
  const body = (typeof answer === 'object' && answer !== null ? answer : {}) as { secretsDir?: unknown; secrets?: unknown };
  if (typeof body.secretsDir !== 'string' || !isAbsolute(body.secretsDir) || !Array.isArray(body.secrets) || !body.secrets.every((name) => typeof name === 'string')) {
    throw new HookError(HookCode.TaskRefused, `berthd answered POST /v1/tasks without an absolute secretsDir and a list of secrets`);
  }
  const delivered = body.secrets as string[];
  const missing = request.secrets.filter((name) => !delivered.includes(name));
  if (missing.length > 0) {
    throw new HookError(HookCode.SecretsUnavailable, `Secret(s) ${missing.join(', ')} not delivered to service ${request.service}: are they granted to it?`);
  }
  return { service: request.service, secretsDir: body.secretsDir, secrets: delivered };
}

/** Idempotent: gone, no cluster, no route are success; berthd down while it holds a registered task is not. */
export async function deregisterTask(socketPath: string, containerId: string, task: TaskRecord, timeoutMs: number): Promise<void> {
  try {
    await callDaemon({ socketPath, method: 'DELETE', path: `/v1/tasks/${encodeURIComponent(containerId)}`, timeoutMs });
  } catch (error) {
    const code = error instanceof DaemonClientError ? error.code : '';
    if (code === 'NOT_IN_CLUSTER' || code === 'NOT_FOUND' || (code === 'UNREACHABLE' && task.secretsDir === undefined)) return;
    throw new HookError(HookCode.TaskRefused, `Cannot deregister task ${containerId} of service ${task.service}: ${(error as Error).message}`, { cause: error });
  }
}
