import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { requireManagerServer } from './server-identity.js';

export interface ProbeTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** GET a path on an etcd client URL with mutual TLS; resolves with the status and body, never throws. */
export function etcdHttpGet(url: string, path: string, tls: ProbeTls, timeoutMs: number): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const target = new URL(path, url);
    let checkServerIdentity: ReturnType<typeof requireManagerServer>;
    try {
      checkServerIdentity = requireManagerServer(tls.caPem);
    } catch (error) {
      resolve({ error: error instanceof Error ? error.message : String(error) });
      return;
    }
    const req = request(target, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: timeoutMs, method: 'GET', checkServerIdentity }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { if (body.length < 65_536) body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end();
  });
}

/** etcd's own health verdict (`/health`: true when the member sees a leader and can serve a linearizable read). */
export async function etcdHealthy(url: string, tls: ProbeTls, timeoutMs = 2_000): Promise<boolean> {
  const result = await etcdHttpGet(url, '/health', tls, timeoutMs);
  return 'status' in result && result.status === 200 && /"health":\s*"true"/.test(result.body);
}

/** Polls `/health` until true; a typed error naming the URL after `timeoutMs`. */
export async function waitForEtcdHealthy(url: string, tls: ProbeTls, options: { timeoutMs: number; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 100;
  for (let attempt = 0; Date.now() < deadline; attempt += 1) {
    if (await etcdHealthy(url, tls, Math.min(2_000, Math.max(100, deadline - Date.now())))) return;
    await sleep(intervalMs);
  }
  throw new ClusterError(ClusterErrorCode.EtcdFailed, `etcd at ${url} is not healthy after ${options.timeoutMs} ms`);
}
