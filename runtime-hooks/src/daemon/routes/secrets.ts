import { Hono, type Context } from 'hono';
import { SecretError, SecretErrorCode, readAudit, rotateClusterKey, secretBytesMax, zero } from '@berth/secrets';
import { jsonBody } from '../errors.js';
import type { SecretsRuntime } from '../secrets-runtime.js';
import { localActor } from './caller.js';

/** A secret's value travels as base64 in a JSON body; the local API's cap for these routes fits 500 KiB of it. */
export const secretBodyBytesMax = 1024 * 1024;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

function fields(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SecretError(SecretErrorCode.Invalid, 'Invalid request: the body must be a JSON object');
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw new SecretError(SecretErrorCode.Invalid, `Invalid request: unknown field ${JSON.stringify(extra.slice(0, 40))}`);
  return body as Record<string, unknown>;
}

/** Decodes the value; its size is checked on the base64 length first, so an oversize value is never decoded. */
function secretValue(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !base64Pattern.test(value) || value.length % 4 !== 0) throw new SecretError(SecretErrorCode.Invalid, 'Invalid request: value must be base64');
  const bytes = Math.floor((value.length * 3) / 4) - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
  if (bytes > secretBytesMax) throw new SecretError(SecretErrorCode.TooLarge, `Secret value of ${bytes} bytes is larger than the limit of ${secretBytesMax} bytes (500 KiB)`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

async function withValue<T>(value: unknown, use: (bytes: Uint8Array) => Promise<T>): Promise<T> {
  const bytes = secretValue(value);
  try {
    return await use(bytes);
  } finally {
    zero(bytes);
  }
}

/** `berth secret …` and the cluster key commands: served by managers only (a worker answers NOT_MANAGER). */
export function createSecretsRouter(runtime: SecretsRuntime): Hono {
  const app = new Hono();
  /** Key commands work on a locked manager (that is how it gets unlocked); secret commands need it unlocked. */
  const keys: Parts = (c) => {
    const parts = runtime.manager();
    return { ...parts, actor: localActor(c, parts.nodeId) };
  };
  const manager: Parts = (c) => {
    const parts = keys(c);
    if (parts.keyring.state === 'locked') throw new SecretError(SecretErrorCode.Locked, 'This manager is locked (autolock): run `berth cluster unlock` with the unlock key');
    return parts;
  };

  app.post('/v1/secrets', async (c) => {
    const body = fields(await jsonBody(c), ['name', 'value', 'labels']);
    const { service, actor } = manager(c);
    return c.json(await withValue(body['value'], (value) => service.create({ name: body['name'], value, labels: body['labels'], actor })), 201);
  });
  app.get('/v1/secrets', async (c) => c.json(await manager(c).service.list()));
  app.get('/v1/secrets/:name', async (c) => c.json(await manager(c).service.inspect(c.req.param('name'))));
  app.delete('/v1/secrets/:name', async (c) => {
    const force = c.req.query('force');
    if (force !== undefined && force !== 'true' && force !== 'false') throw new SecretError(SecretErrorCode.Invalid, 'Invalid request: force must be true or false');
    const { service, actor } = manager(c);
    await service.remove({ name: c.req.param('name'), force: force === 'true', actor });
    return c.json({ name: c.req.param('name'), removed: true });
  });
  app.post('/v1/secrets/:name/rotate', async (c) => {
    const body = fields(await jsonBody(c), ['value']);
    const { service, actor } = manager(c);
    const result = await withValue(body['value'], (value) => service.rotate({ name: c.req.param('name'), value, actor }));
    runtime.rotationsTotal += 1;
    return c.json(result);
  });
  app.post('/v1/secrets/:name/rollback', async (c) => {
    const body = fields(await jsonBody(c), ['to']);
    const { service, actor } = manager(c);
    return c.json(await service.rollback({ name: c.req.param('name'), ...(body['to'] === undefined ? {} : { to: body['to'] }), actor }));
  });
  app.post('/v1/secrets/:name/grants', async (c) => {
    const body = fields(await jsonBody(c), ['service', 'target', 'uid', 'gid', 'mode', 'nodes']);
    const { service: secrets, actor } = manager(c);
    const { service, ...options } = body;
    return c.json(await secrets.grant({ name: c.req.param('name'), service, options, actor }), 201);
  });
  app.delete('/v1/secrets/:name/grants/:service', async (c) => {
    const { service, actor } = manager(c);
    await service.revoke({ name: c.req.param('name'), service: c.req.param('service'), actor });
    return c.json({ name: c.req.param('name'), service: c.req.param('service'), revoked: true });
  });
  app.get('/v1/secrets/:name/history', async (c) => c.json(await manager(c).service.history(c.req.param('name'))));
  app.route('/', createClusterKeyRouter(keys, manager));
  return app;
}

type Parts = (c: Context) => ReturnType<SecretsRuntime['manager']> & { actor: ReturnType<typeof localActor> };

/** `berth cluster audit|keys|update|unlock|unlock-key|rotate-key`: `keys` works on a locked manager, `manager` does not. */
function createClusterKeyRouter(keys: Parts, manager: Parts): Hono {
  const app = new Hono();
  app.get('/v1/cluster/audit', async (c) => c.json(await readAudit(manager(c).service.store)));
  app.get('/v1/cluster/keys', (c) => {
    const { keyring } = keys(c);
    return c.json({ state: keyring.state, autolock: keyring.autolock, kekId: keyring.record?.value.kekId, rotation: keyring.record?.value.rotation ?? null });
  });
  app.post('/v1/cluster/update', async (c) => {
    const body = fields(await jsonBody(c), ['autolock']);
    if (typeof body['autolock'] !== 'boolean') throw new SecretError(SecretErrorCode.Invalid, 'Invalid request: autolock must be true or false');
    const { keyring, actor } = manager(c);
    return c.json({ autolock: body['autolock'], ...(await keyring.setAutolock(body['autolock'], actor)) });
  });
  app.post('/v1/cluster/unlock', async (c) => {
    const body = fields(await jsonBody(c), ['key']);
    if (typeof body['key'] !== 'string' || body['key'].length > 200) throw new SecretError(SecretErrorCode.UnlockKeyRejected, 'Invalid unlock key');
    const { keyring, actor } = keys(c);
    await keyring.unlock(body['key'], actor);
    return c.json({ state: keyring.state });
  });
  app.post('/v1/cluster/unlock-key', async (c) => {
    const body = fields(await jsonBody(c), ['rotate']);
    const rotate = body['rotate'] ?? false;
    if (typeof rotate !== 'boolean') throw new SecretError(SecretErrorCode.Invalid, 'Invalid request: rotate must be true or false');
    const { keyring, actor } = manager(c);
    return c.json({ unlockKey: await keyring.unlockKeyText(rotate, actor), rotated: rotate });
  });
  app.post('/v1/cluster/rotate-key', async (c) => {
    fields(await jsonBody(c), []);
    const { keyring, service, actor } = manager(c);
    return c.json(await rotateClusterKey({ store: service.store, keyring, actor }));
  });
  return app;
}
