/**
 * `berth run --secret`: grant each secret to the container's service through berthd before the container starts,
 * so that the createRuntime hook's task registration finds it granted. PENDING issue 11 (secrets): its grant route
 * is not on this branch; this calls `POST /v1/secrets/<name>/grants` with `{service, target, mode}`, the shape of
 * `berth secret grant NAME SERVICE --target F --mode M`, and must be aligned with issue 11's route when it lands.
 */
import { DaemonClientError, callDaemon } from '../daemon/client.js';
import type { SecretRequest } from './options.js';

const grantTimeoutMs = 15_000;

export async function grantSecrets(socketPath: string, service: string, secrets: readonly SecretRequest[]): Promise<void> {
  for (const secret of secrets) {
    try {
      await callDaemon({
        socketPath, method: 'POST', path: `/v1/secrets/${encodeURIComponent(secret.name)}/grants`, timeoutMs: grantTimeoutMs,
        body: { service, target: secret.target, mode: `0${secret.mode.toString(8)}` },
      });
    } catch (error) {
      const reason = error instanceof DaemonClientError && error.code === 'NOT_FOUND'
        ? 'this berthd has no secrets API (issue 11 pending)'
        : (error as Error).message;
      throw new Error(`Cannot grant secret ${secret.name} to service ${service}: ${reason}`);
    }
  }
}
