import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { SecretError, SecretErrorCode, parseAssignmentsRequest, verifyNodeCertificate, type ClusterNode, type NodeIdentity } from '@berth/secrets';
import { jsonBody } from '../errors.js';
import type { SecretsRuntime } from '../secrets-runtime.js';

/**
 * The one place the join port decides who a TLS peer is: its client certificate must chain to the cluster CA, be
 * within its dates and name a Berth node (verifyNodeCertificate). Issue 10 swaps in its check with revocation here.
 */
export function peerNodeIdentity(c: Context, node: ClusterNode): NodeIdentity {
  const socket = (c.env as { incoming?: { socket?: TLSSocket } } | undefined)?.incoming?.socket;
  const raw = socket?.getPeerCertificate?.(false)?.raw;
  if (raw === undefined || raw.length === 0) throw new SecretError(SecretErrorCode.Forbidden, 'A node certificate is required for this endpoint');
  try {
    return verifyNodeCertificate({ certificatePem: new X509Certificate(raw).toString(), caCertificatePem: node.requireManager().tls.caPem });
  } catch (error) {
    throw new SecretError(SecretErrorCode.Forbidden, `Node certificate refused: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** swarm's dispatcher on the managers' join port: a host asks for the secrets of its own registered containers. */
export function createDispatchRouter(node: ClusterNode, runtime: SecretsRuntime): Hono {
  const app = new Hono();
  app.post('/v1/dispatch/assignments', async (c) => {
    const identity = peerNodeIdentity(c, node);
    const request = parseAssignmentsRequest(await jsonBody(c));
    return c.json(await runtime.dispatcher().assignments(identity.nodeId, request));
  });
  return app;
}
