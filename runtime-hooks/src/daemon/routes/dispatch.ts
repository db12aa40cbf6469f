import { Hono } from 'hono';
import { authenticateNode, parseAssignmentsRequest, type ClusterNode } from '@berth/secrets';
import { jsonBody } from '../errors.js';
import { peerCertificate, type TlsEnv } from '../peer-certificate.js';
import type { SecretsRuntime } from '../secrets-runtime.js';

/** swarm's dispatcher on the managers' join port: a host asks for the secrets of its own registered containers. */
export function createDispatchRouter(node: ClusterNode, runtime: SecretsRuntime): Hono<TlsEnv> {
  const app = new Hono<TlsEnv>();
  app.post('/v1/dispatch/assignments', async (c) => {
    // The caller is the node its client certificate names: chain, dates, and not on the cluster's denylist.
    const identity = await authenticateNode(node, peerCertificate(c));
    const request = parseAssignmentsRequest(await jsonBody(c));
    return c.json(await runtime.dispatcher().assignments(identity.nodeId, request));
  });
  return app;
}
