/** The console's pure parts: the matrix against a hand-written truth table, the what-if diff, escaping, the token, the address check. */
import t from 'tap';
import { parseDocuments, parseEndpoint, type FirewallSnapshot } from '@berth/firewall';
import { computeMatrix, diffMatrices, withDocuments } from '../../../src/daemon/console/matrix.js';
import { escapeHtml, table } from '../../../src/daemon/console/html.js';
import { tokenMatches, newConsoleToken } from '../../../src/daemon/console/token.js';
import { parseConsoleAddress } from '../../../src/daemon/console/listener.js';

const endpoint = (name: string, ip: string, labels: Record<string, string>) => parseEndpoint({ namespace: 'shop', name, labels, ips: [ip], interface: `v-${name}`, namedPorts: [] });
const dbPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
`;
const snapshot: FirewallSnapshot = {
  documents: parseDocuments(dbPolicy).map((parsed) => parsed.document),
  endpoints: [endpoint('web', '10.9.0.2', { app: 'web' }), endpoint('db', '10.9.0.3', { app: 'db' }), endpoint('batch', '10.9.0.4', { app: 'batch' })],
  monitor: false,
};

t.test('the matrix gives the truth table of one NetworkPolicy, per port', async (t) => {
  const matrix = computeMatrix(snapshot, { protocol: 'tcp', port: 5432 });
  t.same(matrix.endpoints, ['shop/batch', 'shop/db', 'shop/web']);
  const verdict = (from: string, to: string) => matrix.cells.find((cell) => cell.from === `shop/${from}` && cell.to === `shop/${to}`);
  t.match(verdict('web', 'db'), { verdict: 'allow', tier: 'networkpolicy', policy: 'NetworkPolicy shop/db-from-web' });
  t.match(verdict('batch', 'db'), { verdict: 'deny', tier: 'networkpolicy' });
  t.match(verdict('db', 'web'), { verdict: 'allow', tier: 'default', policy: null });
  t.match(verdict('web', 'batch'), { verdict: 'allow', tier: 'default' });
  t.equal(matrix.cells.filter((cell) => cell.verdict === 'deny').length, 2, 'batch and db itself are refused by db\'s isolation');
  const other = computeMatrix(snapshot, { protocol: 'tcp', port: 80 });
  t.match(other.cells.find((cell) => cell.from === 'shop/web' && cell.to === 'shop/db'), { verdict: 'deny' }, 'port 80 is not in the allow rule');
});

t.test('what-if: the cells a new policy would change, and only those; nothing else moves', async (t) => {
  const before = computeMatrix(snapshot, { protocol: 'tcp', port: 5432 });
  const widen = parseDocuments(dbPolicy.replace('{podSelector: {matchLabels: {app: web}}}', '{podSelector: {}}')).map((parsed) => parsed.document);
  const changes = diffMatrices(before, computeMatrix(withDocuments(snapshot, widen), { protocol: 'tcp', port: 5432 }));
  t.same(changes.map((change) => `${change.from}>${change.to} ${change.before.verdict}>${change.after.verdict}`).sort(), ['shop/batch>shop/db deny>allow', 'shop/db>shop/db deny>allow']);
  t.equal(snapshot.documents.length, 1, 'the snapshot itself is unchanged');
  t.same(diffMatrices(before, computeMatrix(snapshot, { protocol: 'tcp', port: 5432 })), [], 'the same state changes nothing');
  t.throws(() => diffMatrices(before, computeMatrix(snapshot, { protocol: 'tcp', port: 80 })), /not of the same/);
});

t.test('hostile names are escaped in every rendered cell', async (t) => {
  t.equal(escapeHtml('<script>alert("x")</script>&\''), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  const html = table([{ name: '<img src=x onerror=alert(1)>', value: 'never shown' }], ['name']);
  t.notOk(html.includes('<img'), 'markup in data is text');
  t.notOk(html.includes('never shown'), 'only the named columns are rendered');
});

t.test('the access token: fresh each time, compared whole, any length refused', async (t) => {
  const token = newConsoleToken();
  t.not(token, newConsoleToken());
  t.ok(token.length >= 32);
  t.ok(tokenMatches(token, token));
  for (const wrong of [undefined, '', token.slice(0, -1), `${token}x`, token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase()]) t.notOk(tokenMatches(token, wrong), `refused: ${String(wrong).length}`);
});

t.test('--console listens on loopback only', async (t) => {
  t.same(parseConsoleAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  t.same(parseConsoleAddress('[::1]:9000'), { host: '::1', port: 9000 });
  for (const bad of ['0.0.0.0:8080', '10.0.0.5:80', '[::]:80', 'localhost:80', '192.168.1.1:1', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', ':80']) {
    t.throws(() => parseConsoleAddress(bad), `refused: ${bad}`);
  }
  t.throws(() => parseConsoleAddress('0.0.0.0:8080'), /loopback address only/);
});
