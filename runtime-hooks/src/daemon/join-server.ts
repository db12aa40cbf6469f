import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from '@berth/cni';
import {
  ClusterError, ClusterErrorCode, SourceRateLimiter, handleJoinRequest, handleLeaveRequest, handleRenewalRequest, httpStatusOf, joinBodyBytesMax,
  SecretError, plainAddress, type ClusterNode,
} from '@berth/secrets';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { jsonBody } from './errors.js';
import { peerCertificate, type TlsEnv } from './peer-certificate.js';
import { createDispatchRouter } from './routes/dispatch.js';
import type { SecretsRuntime } from './secrets-runtime.js';

/** Limits of the join endpoint, which faces the network: short handshakes and requests, few connections, a rate. */
export const joinServerLimits = {
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  /** A manager join waits for etcd to accept a learner (up to 15 s when members just changed). */
  requestTimeoutMs: 30_000,
  maxConnections: 64,
  requestsPerSourceMax: 30,
  rateWindowMs: 60_000,
} as const;

type Env = TlsEnv;

/** What a caller on the network learns: the code and a fixed sentence. The details go to the log only. */
const publicMessages: Partial<Record<string, string>> = {
  [ClusterErrorCode.RequestInvalid]: 'Invalid join request',
  [ClusterErrorCode.TokenMalformed]: 'Invalid join token',
  [ClusterErrorCode.TokenRejected]: 'Join token rejected',
  [ClusterErrorCode.CaMismatch]: 'Join token is for another cluster',
  [ClusterErrorCode.CertificateInvalid]: 'Certificate refused',
  [ClusterErrorCode.CertificateExpired]: 'Certificate refused',
  [ClusterErrorCode.CertificateForeign]: 'Certificate refused',
  [ClusterErrorCode.NodeRevoked]: 'This node was removed from the cluster',
  [ClusterErrorCode.NodeUnknown]: 'This node is not in the cluster',
  [ClusterErrorCode.RateLimited]: 'Too many requests from this address; try again later',
  [ClusterErrorCode.NotManager]: 'This manager is locked (autolock) or holds no cluster key, so it cannot admit managers now: unlock it, or join through another manager',
};

function refuse(c: Context<Env>, error: unknown, logger: Logger): Response {
  const requestId = randomBytes(6).toString('hex');
  const source = c.env.incoming.socket.remoteAddress ?? '?';
  logger.warn({ requestId, source, path: c.req.path, code: (error as { code?: unknown }).code, err: error instanceof Error ? error.message : String(error) }, 'join endpoint refused a request');
  // Secrets errors reach only authenticated nodes (the dispatcher checks the caller first) and carry their own
  // status: a locked manager's 423 tells the host to ask another manager.
  if (error instanceof SecretError) return c.json({ error: { code: error.code, message: error.message } }, error.httpStatus as ContentfulStatusCode);
  const code = error instanceof ClusterError && publicMessages[error.code] !== undefined ? error.code : ClusterErrorCode.JoinFailed;
  const message = publicMessages[code] ?? `The manager could not complete the request (request ${requestId}); details are in its log`;
  const status = code === ClusterErrorCode.JoinFailed ? 500 : httpStatusOf(code);
  return c.json({ error: { code, message } }, status as ContentfulStatusCode);
}

/**
 * The manager's endpoint on its advertise address. Joiners have no certificate yet and prove themselves with the
 * token (`POST /v1/join`; `GET /v1/join/ca` serves the CA for pinning); members call renewal, leave and the secrets
 * dispatcher as themselves, so a client certificate is requested (never required) and checked by those routes. Every request counts against
 * its source address's rate before anything else happens, except those of members (a certificate of this cluster).
 */
export function createJoinApp(node: ClusterNode, logger: Logger, secrets: SecretsRuntime): Hono<Env> {
  const app = new Hono<Env>();
  const limiter = new SourceRateLimiter({ requestsMax: joinServerLimits.requestsPerSourceMax, windowMs: joinServerLimits.rateWindowMs });
  app.use('*', async (c, next) => {
    // Members (a client certificate this cluster's CA signed) are not counted: a host's berthd polls the dispatcher
    // and asks for every container it starts, and must not be refused because others flooded from its address.
    const member = (c.env.incoming.socket as TLSSocket).authorized;
    if (!member && !limiter.admit(plainAddress(c.env.incoming.socket.remoteAddress ?? ''))) throw new ClusterError(ClusterErrorCode.RateLimited, 'rate limit');
    await next();
  });
  app.use('*', bodyLimit({ maxSize: joinBodyBytesMax, onError: (c) => c.json({ error: { code: ClusterErrorCode.RequestInvalid, message: 'Request too large' } }, 413) }));
  app.onError((error, c) => refuse(c, error, logger));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'No such route' } }, 404));
  app.get('/v1/join/ca', (c) => c.json({ caCertificatePem: node.requireManager().tls.caPem }));
  app.post('/v1/join', async (c) => c.json(await handleJoinRequest(node, await jsonBody(c), { address: c.env.incoming.socket.remoteAddress ?? '' })));
  app.post('/v1/node/renew', async (c) => c.json(await handleRenewalRequest(node, peerCertificate(c))));
  app.post('/v1/node/leave', async (c) => c.json(await handleLeaveRequest(node, peerCertificate(c))));
  app.route('/', createDispatchRouter(node, secrets));
  return app;
}

export async function startJoinServer(node: ClusterNode, logger: Logger, secrets: SecretsRuntime): Promise<HttpsServer> {
  const active = node.requireManager();
  const app = createJoinApp(node, logger, secrets);
  const server = createAdaptorServer({
    fetch: app.fetch,
    createServer: createHttpsServer,
    serverOptions: {
      key: active.tls.keyPem, cert: active.tls.certPem, ca: active.tls.caPem, requestCert: true, rejectUnauthorized: false,
      minVersion: 'TLSv1.2', handshakeTimeout: joinServerLimits.handshakeTimeoutMs,
    },
  }) as HttpsServer;
  server.headersTimeout = joinServerLimits.headersTimeoutMs;
  server.requestTimeout = joinServerLimits.requestTimeoutMs;
  server.maxConnections = joinServerLimits.maxConnections;
  const stopFollowing = node.onIdentityRenewed((tls) => server.setSecureContext({ key: tls.keyPem, cert: tls.certPem, ca: tls.caPem }));
  server.once('close', stopFollowing);
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
