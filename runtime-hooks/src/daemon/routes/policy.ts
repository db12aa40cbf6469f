import { Hono } from 'hono';
import {
  Evaluator, FirewallCode, FirewallError, buildPolicySet, parseEndpoint, type EndpointRecord,
} from '@berth/firewall';
import { ClusterError, ClusterErrorCode } from '@berth/secrets';
import { jsonBody } from '../errors.js';
import type { PolicyRuntime } from '../policy/runtime.js';

/** A policy file may be large (many documents); the cluster transaction limit is enforced after parsing. */
export const policyBodyBytesMax = 1024 * 1024;

function object(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: the body must be a JSON object');
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid request: unknown field ${JSON.stringify(extra.slice(0, 40))}`);
  return body as Record<string, unknown>;
}

function text(value: unknown, name: string, lengthMax: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > lengthMax) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid request: ${name} must be a non-empty string of at most ${lengthMax} characters`);
  }
  return value;
}

/** An endpoint record as the CNI plugin sends it; validated as the plugin's own parser does. */
function endpointRecord(body: unknown): EndpointRecord {
  const { network, containerId, ifName, ...rest } = object(body, ['namespace', 'name', 'labels', 'ips', 'interface', 'namedPorts', 'network', 'containerId', 'ifName']);
  const optional = (value: unknown, name: string): string | null => (value === null || value === undefined ? null : text(value, name, 256));
  return { ...parseEndpoint(rest), network: optional(network, 'network'), containerId: optional(containerId, 'containerId'), ifName: optional(ifName, 'ifName') };
}

/**
 * Cluster-wide policies (CONTRACTS: `policies/` written by managers) and this host's endpoints (`endpoints/<own id>/`,
 * written by the CNI plugin through berthd). Without a cluster every route answers 409 NOT_IN_CLUSTER, except
 * `GET /v1/policy/status`, which says so.
 */
export function createPolicyRouter(runtime: PolicyRuntime): Hono {
  const app = new Hono();
  app.get('/v1/policy/status', (c) => c.json(runtime.status({ withDigest: c.req.query('digest') === '1' })));

  app.post('/v1/policies', async (c) => {
    const body = object(await jsonBody(c), ['text', 'namespace']);
    const namespace = body['namespace'] === undefined ? 'default' : text(body['namespace'], 'namespace', 63);
    const started = process.hrtime.bigint();
    const outcome = await runtime.apply(text(body['text'], 'text', policyBodyBytesMax), namespace);
    return c.json({ ...outcome, appliedMs: Number(process.hrtime.bigint() - started) / 1e6 });
  });

  app.get('/v1/policies', async (c) => c.json(await runtime.list()));

  app.delete('/v1/policies/:key{.+}', async (c) => {
    const key = text(decodeURIComponent(c.req.param('key')), 'key', 300);
    if (!/^(NetworkPolicy\/[^/]+\/[^/]+|(AdminNetworkPolicy|BaselineAdminNetworkPolicy|Namespace)\/[^/]+)$/.test(key)) {
      throw new FirewallError(FirewallCode.InvalidArgument, `Cannot remove ${JSON.stringify(key.slice(0, 80))}: expected NetworkPolicy/NS/NAME or KIND/NAME`);
    }
    const started = process.hrtime.bigint();
    const revision = await runtime.remove(key);
    return c.json({ removed: key, revision, appliedMs: Number(process.hrtime.bigint() - started) / 1e6 });
  });

  app.post('/v1/policies/monitor', async (c) => {
    const monitor = object(await jsonBody(c), ['monitor'])['monitor'];
    if (typeof monitor !== 'boolean') throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: monitor must be true or false');
    return c.json({ monitor, revision: await runtime.setMonitor(monitor) });
  });

  app.post('/v1/policies/resync', async (c) => {
    object(await jsonBody(c), []);
    const result = await runtime.session().resync();
    return c.json({ mode: result.mode, generation: result.generation, elementsAdded: result.elementsAdded, ms: result.timings.totalMs });
  });

  app.get('/v1/policies/stats', (c) => c.json(runtime.session().engine.counters()));
  app.get('/v1/policies/drops', (c) => c.json(runtime.session().engine.monitorHits()));

  app.post('/v1/policies/explain', async (c) => {
    const body = object(await jsonBody(c), ['from', 'to', 'protocol', 'port']);
    const port = body['port'];
    if (port !== undefined && port !== null && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: port must be an integer from 1 to 65535, or null');
    }
    const snapshot = runtime.session().engine.snapshot();
    const { policies, namespaces } = buildPolicySet(snapshot.documents, { monitor: snapshot.monitor });
    return c.json(new Evaluator(policies, namespaces, snapshot.endpoints).decide({
      from: text(body['from'], 'from', 300), to: text(body['to'], 'to', 300), protocol: text(body['protocol'] ?? 'tcp', 'protocol', 16), port: port ?? null,
    }));
  });

  app.get('/v1/endpoints', (c) => c.json(runtime.session().engine.snapshot().endpoints));

  app.post('/v1/endpoints', async (c) => {
    const record = endpointRecord(await jsonBody(c));
    const started = process.hrtime.bigint();
    const revision = await runtime.registry().registerAt(record);
    return c.json({ registered: `${record.namespace}/${record.name}`, revision, appliedMs: Number(process.hrtime.bigint() - started) / 1e6 });
  });

  const attachment = (containerId: string, ifName: string) => ({ containerId: text(containerId, 'containerId', 256), ifName: text(ifName, 'ifName', 64) });
  app.get('/v1/endpoints/attachments/:containerId/:ifName', async (c) => {
    const endpoint = await runtime.registry().find(attachment(c.req.param('containerId'), c.req.param('ifName')));
    return c.json({ endpoint: endpoint ?? null });
  });
  app.delete('/v1/endpoints/attachments/:containerId/:ifName', async (c) => {
    await runtime.registry().unregister(attachment(c.req.param('containerId'), c.req.param('ifName')));
    return c.json({ removed: true });
  });

  app.post('/v1/endpoints/gc', async (c) => {
    const body = object(await jsonBody(c), ['network', 'valid']);
    const valid = body['valid'];
    if (!Array.isArray(valid) || valid.length > 100_000 || !valid.every((item) => typeof item === 'string' && item.length <= 320)) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: valid must be a list of "containerId/ifName" strings');
    }
    await runtime.registry().collect(text(body['network'], 'network', 256), valid as string[]);
    return c.json({ collected: true });
  });
  return app;
}
