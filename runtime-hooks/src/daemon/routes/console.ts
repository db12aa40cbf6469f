/**
 * The web console (DESIGN §7): server-rendered pages over the local API's own JSON (called in-process, so the
 * console shows exactly what the CLI would), the reachability matrix and what-if from the evaluator, and live
 * tables over server-sent events. Mounted at /console on the unix socket, and on the loopback listener behind the
 * access token (console/listener.ts).
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from '@berth/cni';
import {
  Evaluator, FirewallCode, FirewallError, FirewallStore, buildPolicySet, parseDocuments, snapshotOf, type FirewallSnapshot,
} from '@berth/firewall';
import { SecretError, SecretErrorCode } from '@berth/secrets';
import { errorResponse, jsonBody } from '../errors.js';
import { consoleScript, consoleStyle } from '../console/client.js';
import { notice, page } from '../console/html.js';
import { computeMatrix, diffMatrices, withDocuments } from '../console/matrix.js';
import {
  clusterBody, dropColumns, dropRows, historyColumns, matrixBody, networksBody, secretBody, secretsBody, verdictColumns, verdictRows, verdictsBody,
} from '../console/pages.js';
import type { PolicyRuntime } from '../policy/runtime.js';

/** A live table polls its source this often and sends only changes. */
export const consoleStreamPollMs = 1_000;
/** A stream ends after this long; the browser's EventSource reconnects on its own. */
export const consoleStreamMsMax = 10 * 60_000;

export interface ConsoleSources {
  /** The local API, called in-process. */
  readonly local: Hono;
  readonly policy: PolicyRuntime;
  /** $BERTH_ROOT: outside a cluster the policies are the CLI's files under it. */
  readonly root: string;
  readonly logger: Logger;
}

type Json = { ok: true; body: unknown } | { ok: false; message: string };

async function localJson(local: Hono, path: string): Promise<Json> {
  const response = await local.request(path);
  const body = await response.json() as { error?: { message?: string } };
  return response.ok ? { ok: true, body } : { ok: false, message: body.error?.message ?? `${path} answered ${response.status}` };
}

/** In a cluster, what this host's engine enforces; outside one, the CLI's state files (what `berth policy explain` reads). */
function policySnapshot(sources: ConsoleSources): FirewallSnapshot {
  try {
    return sources.policy.session().engine.snapshot();
  } catch (error) {
    if (error instanceof SecretError && error.code === SecretErrorCode.NotInCluster) return snapshotOf(new FirewallStore(sources.root).read());
    throw error;
  }
}

function flowQuery(protocolText: string | undefined, portText: string | undefined): { protocol: string; port: number | null } {
  const protocol = protocolText === undefined || protocolText === '' ? 'tcp' : protocolText.slice(0, 16);
  if (portText === undefined || portText === '') return { protocol, port: null };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) throw new FirewallError(FirewallCode.InvalidArgument, `Cannot use port ${JSON.stringify(portText.slice(0, 8))}: expected 1-65535`);
  return { protocol, port };
}

function text(value: unknown, name: string, lengthMax: number): string {
  if (typeof value !== 'string' || value.length > lengthMax) throw new FirewallError(FirewallCode.InvalidArgument, `Invalid request: ${name} must be a string of at most ${lengthMax} characters`);
  return value;
}

/** A table whose rows are sent again whenever they change; a source that fails (a secret removed, the cluster left) ends it. */
function liveTable(c: Context, columns: readonly string[], rows: () => Promise<readonly object[]>): Response {
  return streamSSE(c, async (stream) => {
    let aborted = false;
    stream.onAbort(() => { aborted = true; });
    let last = '';
    for (const deadline = Date.now() + consoleStreamMsMax; !aborted && Date.now() < deadline; await stream.sleep(consoleStreamPollMs)) {
      const data = JSON.stringify({ columns, rows: await rows() });
      if (data !== last) await stream.writeSSE({ data });
      last = data;
    }
  }, async (error, stream) => {
    await stream.writeSSE({ event: 'end', data: JSON.stringify({ message: error.message }) });
  });
}

/** Mounts the console at /console on `app` (the socket's API or the loopback listener); `/console/` leads there too. */
export function mountConsole(app: Hono, sources: ConsoleSources): void {
  app.get('/console/', (c) => c.redirect(`/console${new URL(c.req.url).search}`, 301));
  app.route('/console', createConsoleRouter(sources));
}

export function createConsoleRouter(sources: ConsoleSources): Hono {
  const app = new Hono();
  const html = (c: Context, title: string, body: string) => c.html(page(title, body), 200, { 'cache-control': 'no-store' });
  app.onError((error, c) => errorResponse(c, error, sources.logger));
  // Only its own script and style run, and no other site may frame it (clickjacking) or sniff types.
  app.use('*', async (c, next) => {
    await next();
    c.header('content-security-policy', 'default-src \'none\'; script-src \'self\'; style-src \'self\'; connect-src \'self\'; img-src \'self\'; form-action \'self\'; frame-ancestors \'none\'');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
  });
  app.get('/app.js', (c) => c.body(consoleScript, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/style.css', (c) => c.body(consoleStyle, 200, { 'content-type': 'text/css; charset=utf-8' }));

  app.get('/', (c) => {
    const query = { protocol: c.req.query('protocol') ?? 'tcp', port: c.req.query('port') ?? '80' };
    try {
      return html(c, 'Reachability', matrixBody(computeMatrix(policySnapshot(sources), flowQuery(query.protocol, query.port)), query));
    } catch (error) {
      if (error instanceof FirewallError || error instanceof SecretError) return html(c, 'Reachability', notice(error.message));
      throw error;
    }
  });
  app.get('/api/explain', (c) => {
    const snapshot = policySnapshot(sources);
    const { policies, namespaces } = buildPolicySet(snapshot.documents, { monitor: snapshot.monitor });
    const flow = flowQuery(c.req.query('protocol'), c.req.query('port'));
    return c.json(new Evaluator(policies, namespaces, snapshot.endpoints).decide({ from: text(c.req.query('from'), 'from', 300), to: text(c.req.query('to'), 'to', 300), ...flow }));
  });
  app.post('/api/what-if', async (c) => {
    const body = await jsonBody(c) as Record<string, unknown>;
    const flow = flowQuery(text(body['protocol'] ?? 'tcp', 'protocol', 16), body['port'] === null || body['port'] === undefined ? undefined : String(body['port']));
    const documents = parseDocuments(text(body['text'], 'text', 1024 * 1024), { defaultNamespace: text(body['namespace'] ?? 'default', 'namespace', 63) || 'default' });
    const snapshot = policySnapshot(sources);
    const before = computeMatrix(snapshot, flow);
    return c.json({ changes: diffMatrices(before, computeMatrix(withDocuments(snapshot, documents.map((parsed) => parsed.document)), flow)) });
  });

  const counters = () => verdictRows(sources.policy.session().engine.counters());
  const drops = () => dropRows(sources.policy.session().engine.monitorHits());
  app.get('/verdicts', (c) => {
    try {
      return html(c, 'Verdicts', verdictsBody({ counters: counters(), drops: drops() }));
    } catch (error) {
      if (error instanceof FirewallError || error instanceof SecretError) return html(c, 'Verdicts', verdictsBody(`${error.message} (counters come from berthd's engine in a cluster)`));
      throw error;
    }
  });
  app.get('/events/verdicts', (c) => liveTable(c, verdictColumns, async () => counters()));
  app.get('/events/drops', (c) => liveTable(c, dropColumns, async () => drops()));

  app.get('/cluster', async (c) => {
    const listing = await localJson(sources.local, '/v1/cluster');
    return html(c, 'Cluster', listing.ok ? clusterBody(listing.body as Parameters<typeof clusterBody>[0]) : notice(listing.message));
  });
  app.get('/networks', async (c) => {
    const listing = await localJson(sources.local, '/v1/networks');
    if (!listing.ok) return html(c, 'Networks', notice(listing.message));
    const names = (listing.body as { name: string }[]).map((network) => network.name);
    const details = await Promise.all(names.map((name) => localJson(sources.local, `/v1/networks/${encodeURIComponent(name)}`)));
    return html(c, 'Networks', networksBody(details.flatMap((detail) => (detail.ok ? [detail.body as Parameters<typeof networksBody>[0][number]] : []))));
  });
  app.get('/secrets', async (c) => {
    const listing = await localJson(sources.local, '/v1/secrets');
    return html(c, 'Secrets', listing.ok ? secretsBody(listing.body as Parameters<typeof secretsBody>[0]) : notice(listing.message));
  });
  const history = async (name: string): Promise<Record<string, unknown>[]> => {
    const entries = await localJson(sources.local, `/v1/secrets/${encodeURIComponent(name)}/history`);
    if (!entries.ok) throw new FirewallError(FirewallCode.NotFound, entries.message);
    return entries.body as Record<string, unknown>[];
  };
  app.get('/secrets/:name', async (c) => {
    const name = c.req.param('name');
    const details = await localJson(sources.local, `/v1/secrets/${encodeURIComponent(name)}`);
    if (!details.ok) return html(c, `Secret ${name}`, notice(details.message));
    return html(c, `Secret ${name}`, secretBody(details.body as Parameters<typeof secretBody>[0], await history(name)));
  });
  app.get('/events/secrets/:name', (c) => liveTable(c, historyColumns, () => history(c.req.param('name'))));
  return app;
}
