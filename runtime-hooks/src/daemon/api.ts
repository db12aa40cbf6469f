import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CniServer, Logger } from '@berth/cni';
import {
  ClusterError, ClusterErrorCode, assertNodeId, initCluster, isNodeRole, joinCluster, leaveCluster, listCluster, removeNode, type ClusterNode,
} from '@berth/secrets';
import { apiBodyBytesMax, errorResponse, jsonBody, tooLarge } from './errors.js';
import { collectMetrics } from './metrics.js';
import { cniRoutes } from './routes/cni.js';
import { createPolicyRouter, policyBodyBytesMax } from './routes/policy.js';
import { createSecretsRouter, secretBodyBytesMax } from './routes/secrets.js';
import { createTasksRouter } from './routes/tasks.js';
import { createNetworksRouter } from './routes/networks.js';
import { mountConsole } from './routes/console.js';
import type { NetworksRuntime } from './networks-runtime.js';
import type { PolicyRuntime } from './policy/runtime.js';
import type { SecretsRuntime } from './secrets-runtime.js';
import { berthVersion } from '../version.js';

export interface ApiHooks {
  /** Called after init, join and leave, so the daemon can start or stop its join endpoint. */
  readonly membershipChanged: () => Promise<void>;
  /** The CNI service, for its stats route (undefined until it runs). */
  readonly cni?: () => CniServer | undefined;
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

function allowFields(body: unknown, names: readonly string[]): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: the body must be a JSON object');
  const extra = Object.keys(body).find((key) => !names.includes(key));
  if (extra !== undefined) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid request: unknown field ${JSON.stringify(extra.slice(0, 40))}`);
}

/** The local API (unix socket only): health, metrics, and the cluster commands the CLI sends. */
export function createLocalApi(node: ClusterNode, hooks: ApiHooks, logger: Logger, capabilities: { secrets: SecretsRuntime; networks: NetworksRuntime; policy: PolicyRuntime }): Hono {
  const app = new Hono();
  const smallBodies = bodyLimit({ maxSize: apiBodyBytesMax, onError: tooLarge });
  const secretBodies = bodyLimit({ maxSize: secretBodyBytesMax, onError: tooLarge });
  const policyBodies = bodyLimit({ maxSize: policyBodyBytesMax + apiBodyBytesMax, onError: tooLarge });
  app.use('*', (c, next) => (c.req.path.startsWith('/v1/secrets') ? secretBodies : c.req.path === '/v1/policies' ? policyBodies : smallBodies)(c, next));
  app.onError((error, c) => errorResponse(c, error, logger));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `No route ${c.req.method} ${c.req.path}` } }, 404));

  app.get('/healthz', (c) => {
    const active = node.active;
    const member = active?.member?.state;
    const healthy = member !== 'failed';
    return c.json({ status: healthy ? 'ok' : 'degraded', cluster: active?.state.role ?? 'none', etcd: member ?? 'none' }, healthy ? 200 : 503);
  });

  app.get('/v1/version', (c) => c.json({ version: berthVersion }));

  app.get('/metrics', async (c) => c.text(await collectMetrics(node, node.limits.statusTimeoutMs, [...(await capabilities.secrets.metrics()), ...capabilities.networks.metrics(), ...capabilities.policy.metrics()]), 200, { 'content-type': 'text/plain; version=0.0.4' }));

  app.post('/v1/cluster/init', async (c) => {
    allowFields(await jsonBody(c), []);
    const result = await initCluster(node);
    await hooks.membershipChanged();
    return c.json(result);
  });

  app.post('/v1/cluster/join', async (c) => {
    const body = await jsonBody(c);
    allowFields(body, ['token', 'address']);
    const token = field(body, 'token');
    const address = field(body, 'address');
    if (typeof token !== 'string' || typeof address !== 'string' || address.length > 100) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: token and address must be strings');
    }
    const result = await joinCluster(node, token, address);
    await hooks.membershipChanged();
    return c.json(result);
  });

  app.post('/v1/cluster/leave', async (c) => {
    const body = await jsonBody(c);
    allowFields(body, ['force']);
    const force = field(body, 'force') ?? false;
    if (typeof force !== 'boolean') throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: force must be true or false');
    const result = await leaveCluster(node, { force });
    await hooks.membershipChanged();
    return c.json(result);
  });

  app.route('/v1/cni', cniRoutes(hooks.cni ?? (() => undefined)));

  app.get('/v1/cluster', async (c) => c.json(await listCluster(node)));

  app.post('/v1/cluster/rm', async (c) => {
    const body = await jsonBody(c);
    allowFields(body, ['nodeId']);
    const nodeId = field(body, 'nodeId');
    assertNodeId(nodeId);
    return c.json(await removeNode(node, nodeId));
  });

  app.post('/v1/cluster/join-token', async (c) => {
    const body = await jsonBody(c);
    allowFields(body, ['role', 'rotate', 'ttlSeconds']);
    const role = field(body, 'role');
    const rotate = field(body, 'rotate') ?? false;
    const ttlSeconds = field(body, 'ttlSeconds');
    if (!isNodeRole(role) || typeof rotate !== 'boolean') throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: role must be manager or worker, rotate a boolean');
    if (ttlSeconds !== undefined && (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 365 * 86_400)) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: ttlSeconds must be an integer from 1 to 31536000');
    }
    return c.json({ role, token: await node.joinToken(role, { rotate, ttlSeconds }) });
  });

  app.route('/', createSecretsRouter(capabilities.secrets));
  app.route('/', createTasksRouter(capabilities.secrets));
  app.route('/', createNetworksRouter(node, capabilities.networks));
  app.route('/', createPolicyRouter(capabilities.policy));
  mountConsole(app, { local: app, policy: capabilities.policy, root: node.options.root, logger });
  return app;
}
