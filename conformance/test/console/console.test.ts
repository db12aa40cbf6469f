/**
 * The web console in a real browser (Debian's chromium driven by playwright-core, headless) against a real berthd:
 * a one-host cluster in a test network namespace, berthd started with `--console 127.0.0.1:PORT` inside it. The
 * browser runs in the same namespace (nsenter wrapper), so it reaches that loopback and nothing else. The
 * scenario's endpoints are real pods on a bridge in that namespace, so the Verdicts page shows real packets.
 * Set BERTH_CONSOLE_SCREENSHOT=FILE to write a PNG of the matrix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BerthdHost } from '../../src/cluster/berthd-host.js';
import { berthdScript, cleanEnv } from '../../src/cluster/paths.js';
import { ClusterTopology } from '../../src/cluster/topology.js';
import { createTestNetns, uniqueName } from '../../src/harness/index.js';
import { bridgeWithPods, type BridgePod } from '../../src/netpol/bridge-pods.js';
import { ProbeAgent } from '../../src/netpol/probe-agent.js';

const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const consolePort = 7411;
const policy = (from: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: ${from}}], ports: [{port: 5432}]}]
`;
const endpoints = [['web', '10.9.0.2'], ['db', '10.9.0.3'], ['batch', '10.9.0.4']] as const;
// Secret values the console must never show, in any form it could leak them.
const values = [`v1-${randomBytes(12).toString('hex')}`, `v2-${randomBytes(12).toString('hex')}`];
// A label is free text: the console must show it as text, never as markup.
const hostileLabel = '<img src=x onerror="document.title=1">';
const forbidden = values.flatMap((value) => [value, Buffer.from(value).toString('base64')]);

async function waitUntil<T>(what: string, attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${error instanceof Error ? error.message : String(error)})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** A GET over berthd's unix socket (the socket's permissions are its boundary: no token there). */
function socketGet(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ socketPath, path, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function cells(page: Page): Promise<{ from: string; to: string; verdict: string; tier: string }[]> {
  return page.$$eval('td.cell', (tds) => tds.map((td) => ({ from: td.dataset['from'] ?? '', to: td.dataset['to'] ?? '', verdict: td.dataset['verdict'] ?? '', tier: td.dataset['tier'] ?? '' })));
}

t.test('the console in a browser: matrix, explanation, what-if, live secret history, no secret value anywhere', async (t) => {
  const stateDir = `/tmp/bt-console-${randomBytes(4).toString('hex')}`;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const topology = await ClusterTopology.create(t, ['m1']);
  const host = new BerthdHost(topology.host('m1'), stateDir, ['--console', `127.0.0.1:${consolePort}`]);
  t.teardown(() => host.destroy());
  await host.start();
  const url = /berthd: console at (\S+)/.exec(host.stderrText)?.[1];
  t.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${consolePort}/console\\?token=[A-Za-z0-9_-]{32}$`), 'berthd printed the console URL with its token');
  await host.cliJson(['cluster', 'init']);
  await waitUntil('policies loaded', () => host.api('POST', '/v1/policies', { text: policy('{matchLabels: {app: web}}') }));
  for (const [name, ip] of endpoints) {
    await host.api('POST', '/v1/endpoints', { namespace: 'shop', name, labels: { app: name }, ips: [ip], interface: `v-${name}`, namedPorts: [], network: 'net', containerId: `c-${name}`, ifName: 'eth0' });
  }
  // Pods at the endpoints' addresses (10.9.0.2-4), on a bridge in the host's namespace, where berthd's engine enforces.
  const pods = await bridgeWithPods({
    execChecked: (argv) => host.host.netns.execChecked(argv),
    addNetns: async (label) => {
      const netns = await createTestNetns(uniqueName(label, 32));
      t.teardown(() => netns.remove());
      return netns;
    },
  }, endpoints.length, 9);
  t.same(pods.map((pod) => pod.ip), endpoints.map(([, ip]) => ip), 'a pod at each endpoint\'s address');
  const [, dbPod, batchPod] = pods as [BridgePod, BridgePod, BridgePod];
  await ProbeAgent.start(t, dbPod.netns.path, [5432]);
  const batchProber = await ProbeAgent.start(t, batchPod.netns.path, []);
  await host.api('POST', '/v1/secrets', { name: 'db-password', value: Buffer.from(values[0] ?? '').toString('base64'), labels: { owner: hostileLabel } });
  await host.api('POST', '/v1/secrets/db-password/grants', { service: 'shop-db' });
  await host.api('POST', '/v1/networks', { name: 'shopnet', driver: 'bridge', subnets: ['10.89.5.0/24'] });

  const launcher = join(stateDir, 'chromium-in-netns');
  await writeFile(launcher, `#!/bin/sh\nexec nsenter --net=${host.host.netns.path} -- /usr/bin/chromium "$@"\n`);
  await chmod(launcher, 0o700);
  const browser: Browser = await chromium.launch({ executablePath: launcher, headless: true, args: chromiumFlags, timeout: 30_000 });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const bodies: Promise<string>[] = [];
  page.on('response', (response) => {
    if (!(response.headers()['content-type'] ?? '').startsWith('text/event-stream')) bodies.push(response.text().catch(() => ''));
  });

  await t.test('the matrix shows what `berth policy explain` decides, cell by cell', async (t) => {
    const response = await page.goto(url ?? '');
    t.equal(response?.status(), 200);
    t.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.goto(`${new URL(url ?? '').origin}/console?protocol=tcp&port=5432`);
    const shown = await cells(page);
    t.equal(shown.length, 9);
    for (const cell of shown) {
      const explained = await host.api('POST', '/v1/policies/explain', { from: cell.from, to: cell.to, protocol: 'tcp', port: 5432 }) as { verdict: string; tier: string };
      t.same([cell.verdict, cell.tier], [explained.verdict, explained.tier], `${cell.from} → ${cell.to}`);
    }
    const truth = Object.fromEntries(shown.map((cell) => [`${cell.from}>${cell.to}`, cell.verdict]));
    t.same([truth['shop/web>shop/db'], truth['shop/batch>shop/db'], truth['shop/db>shop/web']], ['allow', 'deny', 'allow'], 'the truth table of the scenario');
    await page.click('td.cell[data-from="shop/batch"][data-to="shop/db"]');
    await page.locator('#explain', { hasText: 'verdict: deny' }).waitFor();
    t.match(await page.textContent('#explain'), /policy: NetworkPolicy shop\/db-from-web/);
  });

  await t.test('what-if outlines exactly the cells the pasted policy would change, and stores nothing', async (t) => {
    const before = await host.api('GET', '/v1/policies');
    await page.fill('#whatif textarea', policy('{}'));
    await page.click('#whatif button');
    await page.locator('#whatif-result', { hasText: '→' }).waitFor();
    const changed = await page.$$eval('td.changed', (tds) => tds.map((td) => `${td.dataset['from']}>${td.dataset['to']}`).sort());
    t.same(changed, ['shop/batch>shop/db', 'shop/db>shop/db']);
    t.same(await host.api('GET', '/v1/policies'), before, 'nothing was applied');
    await page.fill('#whatif textarea', policy('{}').replace('ports:', 'prots:'));
    await page.click('#whatif button');
    await page.locator('#whatif-result', { hasText: 'prots' }).waitFor();
    t.equal(await page.locator('td.changed').count(), 0, 'an invalid document: its error is shown, no cell is outlined');
    await page.fill('#whatif textarea', policy('{}'));
    await page.click('#whatif button');
    await page.locator('td.changed').first().waitFor();
    const screenshot = process.env['BERTH_CONSOLE_SCREENSHOT'];
    if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
  });

  await t.test('a rotation appears in the secret\'s history without a reload', async (t) => {
    await page.goto(`${new URL(url ?? '').origin}/console/secrets/db-password`);
    let navigations = 0;
    page.on('framenavigated', () => { navigations += 1; });
    t.equal(await page.locator('#history tbody tr').count(), 2, 'the create and the grant');
    t.match(await page.textContent('#grants'), /shop-db/);
    await host.api('POST', '/v1/secrets/db-password/rotate', { value: Buffer.from(values[1] ?? '').toString('base64') });
    await page.locator('#history tbody tr', { hasText: 'rotate' }).waitFor({ timeout: 10_000 });
    t.equal(navigations, 0, 'the page was not reloaded');
    await page.goto(`${new URL(url ?? '').origin}/console/secrets`);
    t.match(await page.textContent('#secrets'), hostileLabel, 'the hostile label is shown as text');
    t.equal(await page.locator('#secrets img').count(), 0, 'and is no element');
    for (const path of ['/console/cluster', '/console/networks', '/console/verdicts']) {
      const response = await page.goto(`${new URL(url ?? '').origin}${path}`);
      t.equal(response?.status(), 200, path);
    }
    t.match(await page.goto(`${new URL(url ?? '').origin}/console/cluster`).then(() => page.textContent('#hosts')), /leader/);
    t.match(await page.goto(`${new URL(url ?? '').origin}/console/networks`).then(() => page.textContent('#networks')), /shopnet\s*bridge\s*10\.89\.5\.0\/24/);
    t.match(await page.goto(`${new URL(url ?? '').origin}/console/verdicts`).then(() => page.textContent('#verdicts')), /drop\s*ingress/, 'the policy\'s drop counter is listed');
    const seen = [...(await Promise.all(bodies)), await page.content()];
    t.ok(seen.length > 10, `${seen.length} response bodies scanned`);
    t.same(forbidden.filter((value) => seen.some((body) => body.includes(value))), [], 'no response body holds a secret value');
  });

  await t.test('the Verdicts page shows a would-be drop of monitor mode, live, with its addresses and port', async (t) => {
    t.equal(await batchProber.probe('10.9.0.3', 5432, 'tcp', 800), false, 'enforcing: batch → db is dropped');
    await host.api('POST', '/v1/policies/monitor', { monitor: true });
    await page.goto(`${new URL(url ?? '').origin}/console/verdicts`);
    await page.locator('#verdicts tbody tr', { hasText: 'monitor' }).waitFor({ timeout: 10_000 });
    let navigations = 0;
    page.on('framenavigated', () => { navigations += 1; });
    t.equal(await batchProber.probe('10.9.0.3', 5432, 'tcp', 800), true, 'monitor mode: batch → db passes');
    const row = page.locator('#drops tbody tr', { hasText: 'tcp/5432' });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allTextContents();
    t.same(cells.slice(0, 5), ['np/shop', 'ingress', '10.9.0.4', '10.9.0.3', 'tcp/5432'], 'policy, direction, from, to, proto/port');
    t.match(cells[5], /^\d+ s ago$/, 'and its age');
    t.equal(navigations, 0, 'it appeared without a reload');
    t.match(await socketGet(host.socket, '/v1/policies/drops').then((response) => response.body), /"source":"10\.9\.0\.4","destination":"10\.9\.0\.3","protocol":"tcp","port":5432/, 'the API lists it too');
    await host.api('POST', '/v1/policies/monitor', { monitor: false });
    t.equal(await batchProber.probe('10.9.0.3', 5432, 'tcp', 800), false, 'monitor off: dropped again');
  });

  await t.test('the same console on the unix socket', async (t) => {
    const cluster = await socketGet(host.socket, '/console/cluster');
    t.equal(cluster.status, 200);
    t.match(cluster.body, /<table id="hosts">.*leader/s);
    t.equal((await socketGet(host.socket, '/console/')).status, 301, '/console/ leads to /console');
    const matrix = await socketGet(host.socket, '/console?protocol=tcp&port=5432');
    t.equal((matrix.body.match(/class="cell v-deny"/g) ?? []).length, 2, 'the matrix, as in the browser');
  });

  await t.test('attacker: no token, a wrong token, and the API over TCP are refused', async (t) => {
    const stranger = await browser.newContext();
    const origin = new URL(url ?? '').origin;
    const probe = await stranger.newPage();
    for (const path of ['/console', '/console/secrets', '/console/api/explain?from=shop/web&to=shop/db', '/console/events/verdicts', `/console?token=${'A'.repeat(32)}`]) {
      const response = await probe.goto(`${origin}${path}`);
      t.equal(response?.status(), 401, path);
    }
    t.equal((await probe.goto(`${origin}/v1/cluster`))?.status(), 404, 'the local API is not served over TCP');
    // From a page of the listener itself (the browser is in the test namespace; Node's own requests are not).
    await probe.goto(`${origin}/v1/cluster`);
    const forged = await probe.evaluate(`document.cookie = 'berth_console=forged; path=/console'; fetch('/console/api/what-if', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": ""}' }).then((response) => response.status)`);
    t.equal(forged, 401, 'a forged cookie');
    await stranger.close();
  });
});

t.test('berthd refuses a console on a non-loopback address, and starts nothing', async (t) => {
  for (const address of ['0.0.0.0:7411']) {
    const child = spawn(process.execPath, [berthdScript(), '--root', '/nonexistent/bt-console', '--console', address], { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.not(code, 0, address);
    t.match(stderr, /loopback address only/, `${address}: a clear reason`);
  }
});
