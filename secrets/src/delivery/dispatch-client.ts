import { Agent, request } from 'node:https';
import { urlHost } from '../cluster/etcd-config.js';
import { requireManagerServer } from '../cluster/server-identity.js';
import type { EtcdTls } from '../store/etcd-kv-store.js';
import type { AssignmentsRequest, AssignmentsResponse, Dispatcher, TaskAssignment } from '../secrets/dispatcher.js';
import { SecretError, SecretErrorCode, isSecretErrorCode } from '../secrets/errors.js';

export interface ManagerAddress {
  readonly address: string;
  readonly port: number;
}

/** Answers are bounded: a host with many containers each holding several 500 KiB secrets still fits. */
export const assignmentsBodyBytesMax = 64 * 1024 * 1024;
/** Past the manager's own wait, how long an answer may take. */
const answerSlackMs = 10_000;

function agentFor(tls: EtcdTls): Agent {
  return new Agent({ keepAlive: true, maxSockets: 8, ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, checkServerIdentity: requireManagerServer(tls.caPem) });
}

/** Errors that mean "try another manager": it is locked, holds no key, or is unreachable. */
function tryElsewhere(error: unknown): boolean {
  return !(error instanceof SecretError) || error.code === SecretErrorCode.Locked || error.code === SecretErrorCode.KeyUnavailable || error.code === SecretErrorCode.DeliveryFailed;
}

function parseResponse(body: unknown): AssignmentsResponse {
  const v = body as { revision?: unknown; tasks?: unknown } | null;
  if (typeof v?.revision !== 'number' || !Array.isArray(v.tasks)) throw new SecretError(SecretErrorCode.DeliveryFailed, 'A manager answered assignments in an unknown shape');
  for (const task of v.tasks as TaskAssignment[]) {
    if (typeof task?.containerId !== 'string' || typeof task.fingerprint !== 'string' || !Array.isArray(task.secrets)) throw new SecretError(SecretErrorCode.DeliveryFailed, 'A manager answered a task assignment in an unknown shape');
    for (const secret of task.secrets) {
      const fine = typeof secret?.target === 'string' && typeof secret.value === 'string' && [secret.version, secret.uid, secret.gid, secret.mode].every((n) => Number.isInteger(n));
      if (!fine) throw new SecretError(SecretErrorCode.DeliveryFailed, 'A manager answered a secret assignment in an unknown shape');
    }
  }
  return v as AssignmentsResponse;
}

/** A manager's own dispatcher, for its own delivery agent. */
export interface OwnDispatcher {
  readonly nodeId: string;
  readonly dispatcher: Pick<Dispatcher, 'assignments'>;
}

/**
 * The host side of the dispatcher protocol: POST /v1/dispatch/assignments on a manager's join port, over TLS with
 * this host's node certificate (the manager takes the node id from it), to servers holding a manager certificate of
 * this cluster. Tries the managers in turn, starting with the last one that answered.
 *
 * On a manager, a registration's question (one that does not wait) goes to its own dispatcher in process first: the
 * TLS round trip to itself and the check of its own certificate were a third of a container's registration. Long
 * polls stay on the join port, where stopping the agent ends them.
 */
export class DispatchClient {
  #agent: Agent;
  readonly #managers: () => Promise<readonly ManagerAddress[]>;
  readonly #own: OwnDispatcher | undefined;
  #preferred: string | undefined;

  constructor(options: { tls: EtcdTls; managers: () => Promise<readonly ManagerAddress[]>; own?: OwnDispatcher | undefined }) {
    this.#agent = agentFor(options.tls);
    this.#managers = options.managers;
    this.#own = options.own;
  }

  /** A renewed node certificate: new connections present it; open ones end as their requests finish. */
  useIdentity(tls: EtcdTls): void {
    const previous = this.#agent;
    this.#agent = agentFor(tls);
    previous.destroy();
  }

  async assignments(body: AssignmentsRequest, signal?: AbortSignal): Promise<AssignmentsResponse> {
    const failures: string[] = [];
    if (this.#own !== undefined && body.waitMs === 0) {
      try {
        return await this.#own.dispatcher.assignments(this.#own.nodeId, body);
      } catch (error) {
        if (!tryElsewhere(error)) throw error;
        failures.push(`this host: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const managers = [...await this.#managers()];
    managers.sort((a, b) => Number(`${b.address}:${b.port}` === this.#preferred) - Number(`${a.address}:${a.port}` === this.#preferred));
    for (const manager of managers) {
      if (signal?.aborted === true) break;
      try {
        const answer = parseResponse(await this.#post(manager, body, signal));
        this.#preferred = `${manager.address}:${manager.port}`;
        return answer;
      } catch (error) {
        if (!tryElsewhere(error)) throw error;
        failures.push(`${urlHost(manager.address)}:${manager.port}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new SecretError(SecretErrorCode.DeliveryFailed, `No manager could deliver secrets (${failures.join('; ') || 'no managers known'})`);
  }

  #post(manager: ManagerAddress, body: AssignmentsRequest, signal: AbortSignal | undefined): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        host: manager.address, port: manager.port, method: 'POST', path: '/v1/dispatch/assignments', agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length }, timeout: body.waitMs + answerSlackMs,
        ...(signal === undefined ? {} : { signal }),
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > assignmentsBodyBytesMax) req.destroy(new Error(`answer larger than ${assignmentsBodyBytesMax} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks);
          let parsed: unknown;
          try {
            parsed = JSON.parse(text.toString('utf8'));
          } catch {
            reject(new Error(`answer with HTTP ${res.statusCode ?? 0} is not JSON`));
            return;
          } finally {
            text.fill(0);
            for (const chunk of chunks) chunk.fill(0);
          }
          if ((res.statusCode ?? 500) < 300) return resolve(parsed);
          const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
          const message = typeof error?.message === 'string' ? error.message.slice(0, 300) : `HTTP ${res.statusCode ?? 0}`;
          reject(isSecretErrorCode(error?.code) ? new SecretError(error.code, message) : new Error(message));
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer in time')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
