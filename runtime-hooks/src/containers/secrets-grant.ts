/**
 * `berth run --secret`: grant each secret to the container's service through berthd before the container starts,
 * so that the createRuntime hook's task registration finds it granted (berthd's `POST /v1/secrets/<name>/grants`,
 * the route behind `berth secret grant NAME SERVICE --target F --mode M`; a manager serves it).
 */
import { callDaemon } from '../daemon/client.js';
import type { SecretRequest } from './options.js';

const grantTimeoutMs = 15_000;

export async function grantSecrets(socketPath: string, service: string, secrets: readonly SecretRequest[]): Promise<void> {
  for (const secret of secrets) {
    try {
      await callDaemon({
        socketPath, method: 'POST', path: `/v1/secrets/${encodeURIComponent(secret.name)}/grants`, timeoutMs: grantTimeoutMs,
        body: { service, target: secret.target, mode: secret.mode },
      });
    } catch (error) {
      throw new Error(`Cannot grant secret ${secret.name} to service ${service}: ${(error as Error).message}`);
    }
  }
}
