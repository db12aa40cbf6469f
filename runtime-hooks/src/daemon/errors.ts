import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '@berth/cni';
import { FirewallCode, FirewallError } from '@berth/firewall';
import { ClusterError, ClusterErrorCode, SecretError, StoreError, StoreErrorCode, errorBody, httpStatusOf } from '@berth/secrets';

/** Maps any error to the API's JSON error body; unexpected ones are logged and shown without internals. */
export function errorResponse(c: Context, error: unknown, logger: Logger): Response {
  if (error instanceof ClusterError) return c.json(errorBody(error), httpStatusOf(error.code) as ContentfulStatusCode);
  if (error instanceof SecretError) return c.json({ error: { code: error.code, message: error.message } }, error.httpStatus as ContentfulStatusCode);
  if (error instanceof StoreError && error.code === StoreErrorCode.PermissionDenied) {
    return c.json({ error: { code: error.code, message: `The cluster refused this host's identity (${error.message}); if it was removed with \`berth cluster rm\`, run \`berth cluster leave --force\`` } }, 403);
  }
  if (error instanceof StoreError) return c.json({ error: { code: error.code, message: error.message } }, 503);
  if (error instanceof FirewallError) return c.json({ error: { code: error.code, message: error.message } }, firewallStatus[error.code] ?? 500);
  logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
  return c.json({ error: { code: 'INTERNAL', message: 'Internal error; see the berthd log' } }, 500);
}

const firewallStatus: Partial<Record<string, ContentfulStatusCode>> = {
  [FirewallCode.InvalidDocument]: 400, [FirewallCode.InvalidArgument]: 400, [FirewallCode.NotFound]: 404, [FirewallCode.Unavailable]: 503,
};

/** Reads a small JSON body; anything else is REQUEST_INVALID (the size cap is enforced before, by bodyLimit). */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/.test(type)) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: expected Content-Type application/json');
  try {
    return await c.req.json();
  } catch {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid request: the body is not valid JSON');
  }
}

export const apiBodyBytesMax = 64 * 1024;

export function tooLarge(c: Context): Response {
  return c.json({ error: { code: ClusterErrorCode.RequestInvalid, message: `Invalid request: body larger than ${apiBodyBytesMax} bytes` } }, 413);
}
