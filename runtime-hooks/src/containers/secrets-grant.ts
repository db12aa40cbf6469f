/**
 * `berth run --secret`: grant each secret to the container's service through berthd before the container starts,
 * so that the createRuntime hook's task registration finds it granted (berthd's `POST /v1/secrets/<name>/grants`,
 * the route behind `berth secret grant NAME SERVICE --target F --mode M`; a manager serves it).
 *
 * All or nothing, so a refused run changes nothing: every secret is looked up before any grant, and if a grant still
 * fails, the grants this run made are taken back (revoked, or put back as the service had them).
 */
import { callDaemon } from '../daemon/client.js';
import type { SecretRequest } from './options.js';

const grantTimeoutMs = 15_000;

/** A grant as berthd lists it under `GET /v1/secrets/<name>`; the fields a grant request takes. */
interface Grant { service: string; target: string; uid: number; gid: number; mode: number; nodes: string[] }

const secretPath = (name: string, rest = ''): string => `/v1/secrets/${encodeURIComponent(name)}${rest}`;

function call(socketPath: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  return callDaemon({ socketPath, method, path, body, timeoutMs: grantTimeoutMs });
}

async function forSecret<T>(name: string, service: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new Error(`Cannot grant secret ${name} to service ${service}: ${(error as Error).message}`);
  }
}

export async function grantSecrets(socketPath: string, service: string, secrets: readonly SecretRequest[]): Promise<void> {
  const before = new Map<string, Grant | undefined>();
  for (const { name } of secrets) {
    const details = await forSecret(name, service, () => call(socketPath, 'GET', secretPath(name)) as Promise<{ grants: Grant[] }>);
    before.set(name, details.grants.find((grant) => grant.service === service));
  }
  const granted: string[] = [];
  try {
    for (const secret of secrets) {
      await forSecret(secret.name, service, () => call(socketPath, 'POST', secretPath(secret.name, '/grants'), { service, target: secret.target, mode: secret.mode }));
      granted.push(secret.name);
    }
  } catch (error) {
    // Best effort: the refusal is what the user must see; a failed undo stays in berthd's audit log.
    for (const name of granted.reverse()) await undoGrant(socketPath, service, name, before.get(name)).catch(() => undefined);
    throw error;
  }
}

function undoGrant(socketPath: string, service: string, name: string, previous: Grant | undefined): Promise<unknown> {
  if (previous === undefined) return call(socketPath, 'DELETE', secretPath(name, `/grants/${encodeURIComponent(service)}`));
  const { target, uid, gid, mode, nodes } = previous;
  return call(socketPath, 'POST', secretPath(name, '/grants'), { service, target, uid, gid, mode, nodes });
}
