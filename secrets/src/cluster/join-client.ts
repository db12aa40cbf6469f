import { request } from 'node:https';
import { certificateFingerprint } from './pki.js';
import { requireManagerServer } from './server-identity.js';
import { clusterIdOfCa } from './ca.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { errorFromBody, joinBodyBytesMax, parseJoinResponse, type JoinRequest, type JoinResponse } from './join-protocol.js';
import { urlHost } from './etcd-config.js';

interface HttpsCall {
  readonly address: string;
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  /** undefined: accept any server certificate (only to fetch the CA, which is then pinned by digest). */
  readonly caPem: string | undefined;
  /** This node's certificate and key, for the routes a member calls as itself (renewal, leave). */
  readonly client?: { readonly certPem: string; readonly keyPem: string };
  /** Connect from this address: a joiner proves the address it asks to be known by. */
  readonly localAddress?: string | undefined;
  readonly timeoutMs: number;
}

function call(options: HttpsCall): Promise<{ status: number; body: unknown }> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = request({
      host: options.address, port: options.port, method: options.method, path: options.path,
      ...(options.caPem === undefined
        ? { rejectUnauthorized: false }
        : { ca: options.caPem, rejectUnauthorized: true, checkServerIdentity: requireManagerServer(options.caPem) }),
      ...(options.client === undefined ? {} : { cert: options.client.certPem, key: options.client.keyPem }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      agent: false,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
      timeout: options.timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > joinBodyBytesMax) req.destroy(new Error(`answer larger than ${joinBodyBytesMax} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch {
          reject(new Error(`answer with HTTP ${res.statusCode ?? 0} is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function target(address: string, port: number): string {
  return `${urlHost(address)}:${port}`;
}

/**
 * Fetches the manager's CA certificate and pins it: its SHA-256 must equal the digest in the join token, else
 * CA_MISMATCH (a token for another cluster, or someone in between). Everything after uses only this CA.
 */
export async function fetchPinnedCa(options: { address: string; port: number; caFingerprint: string; timeoutMs: number; localAddress?: string | undefined }): Promise<string> {
  let answer: { status: number; body: unknown };
  try {
    answer = await call({ address: options.address, port: options.port, method: 'GET', path: '/v1/join/ca', caPem: undefined, timeoutMs: options.timeoutMs, localAddress: options.localAddress });
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, `Cannot reach the manager at ${target(options.address, options.port)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const caPem = (answer.body as { caCertificatePem?: unknown } | null)?.caCertificatePem;
  if (answer.status !== 200 || typeof caPem !== 'string') throw errorFromBody(answer.status, answer.body, 'Fetching the cluster CA');
  const fingerprint = certificateFingerprint(caPem);
  if (fingerprint !== options.caFingerprint) {
    throw new ClusterError(ClusterErrorCode.CaMismatch, `The manager at ${target(options.address, options.port)} presents CA ${fingerprint.slice(0, 12)}…, not the token's ${options.caFingerprint.slice(0, 12)}…: the token is for another cluster`);
  }
  clusterIdOfCa(caPem);
  return caPem;
}

/**
 * Sends the join request over TLS verified against the pinned CA, to a server that must hold a manager certificate
 * (checked before the token leaves this host), from the address the joiner asks to be known by.
 */
export async function postJoin(options: { address: string; port: number; caPem: string; request: JoinRequest; timeoutMs: number; localAddress?: string | undefined }): Promise<JoinResponse> {
  let answer: { status: number; body: unknown };
  try {
    answer = await call({ address: options.address, port: options.port, method: 'POST', path: '/v1/join', body: options.request, caPem: options.caPem, timeoutMs: options.timeoutMs, localAddress: options.localAddress });
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, `Join request to ${target(options.address, options.port)} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (answer.status !== 200) throw errorFromBody(answer.status, answer.body, 'Join');
  return parseJoinResponse(answer.body);
}

/** A member's own call to a manager's endpoint, authenticated by its node certificate (renewal, leave). */
export async function callManagerAsNode(options: {
  address: string; port: number; path: '/v1/node/renew' | '/v1/node/leave'; tls: { caPem: string; certPem: string; keyPem: string }; timeoutMs: number;
}): Promise<unknown> {
  let answer: { status: number; body: unknown };
  try {
    answer = await call({
      address: options.address, port: options.port, method: 'POST', path: options.path, body: {}, caPem: options.tls.caPem,
      client: { certPem: options.tls.certPem, keyPem: options.tls.keyPem }, timeoutMs: options.timeoutMs,
    });
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, `${options.path} on ${target(options.address, options.port)} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (answer.status !== 200) throw errorFromBody(answer.status, answer.body, options.path);
  return answer.body;
}
