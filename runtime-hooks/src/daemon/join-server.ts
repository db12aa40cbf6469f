import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from '@berth/cni';
import { handleJoinRequest, joinBodyBytesMax, type ClusterNode } from '@berth/secrets';
import { errorResponse, jsonBody, tooLarge } from './errors.js';
import { createDispatchRouter } from './routes/dispatch.js';
import type { SecretsRuntime } from './secrets-runtime.js';

/** Per-connection limits of the join endpoint, which faces the network. */
export const joinServerLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, maxConnections: 64 } as const;

/**
 * The join endpoint on a manager's advertise address: TLS with the node certificate (the joiner has no certificate
 * yet, so no client auth; it proves itself with the token). `GET /v1/join/ca` serves the CA for pinning.
 */
export function createJoinApp(node: ClusterNode, logger: Logger, secrets: SecretsRuntime): Hono {
  const app = new Hono();
  app.use('*', bodyLimit({ maxSize: joinBodyBytesMax, onError: tooLarge }));
  app.onError((error, c) => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'join request refused');
    return errorResponse(c, error, logger);
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'No such route' } }, 404));
  app.get('/v1/join/ca', (c) => c.json({ caCertificatePem: node.requireManager().tls.caPem }));
  app.post('/v1/join', async (c) => c.json(await handleJoinRequest(node, await jsonBody(c))));
  app.route('/', createDispatchRouter(node, secrets));
  return app;
}

export async function startJoinServer(node: ClusterNode, logger: Logger, secrets: SecretsRuntime): Promise<HttpsServer> {
  const active = node.requireManager();
  const app = createJoinApp(node, logger, secrets);
  const server = createAdaptorServer({
    fetch: app.fetch,
    createServer: createHttpsServer,
    // Client certificates are asked for but optional here (joiners have none yet); routes that need one check it.
    serverOptions: { key: active.tls.keyPem, cert: active.tls.certPem, minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false, ca: active.tls.caPem },
  }) as HttpsServer;
  server.headersTimeout = joinServerLimits.headersTimeoutMs;
  server.requestTimeout = joinServerLimits.requestTimeoutMs;
  server.maxConnections = joinServerLimits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(active.state.joinPort, active.state.advertiseAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ address: active.state.advertiseAddress, port: active.state.joinPort }, 'join endpoint listening');
  return server;
}
