/**
 * `berth policy` end to end, as a user runs it: the CLI executable in a test network namespace with its own
 * BERTH_ROOT, endpoints registered by the berth-firewall CNI executable, enforcement in that namespace only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { execCommand, TestHost, type ExecResult } from '../../src/harness/index.js';

const repository = join(import.meta.dirname, '..', '..', '..');
const berth = join(repository, 'runtime-hooks', 'bin', 'berth.js');
const plugin = join(repository, 'cni', 'bin', 'berth-firewall');

const policies = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: blue}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}], ports: [{port: http}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-ssh}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{name: deny-ssh, action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 22}}]}]
`;

t.test('apply, ls, endpoints, explain, rm and errors through the berth CLI', async (t) => {
  const host = await TestHost.create(t, 'cli');
  const root = mkdtempSync(join(tmpdir(), 'bt-policy-cli-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, BERTH_ROOT: root };
  const cli = (...args: string[]): Promise<ExecResult> => execCommand(['nsenter', `--net=${host.path}`, '--', process.execPath, berth, 'policy', ...args], { env });
  const register = async (containerId: string, name: string, ip: string, labels: Record<string, string>): Promise<void> => {
    const config = {
      cniVersion: '1.1.0', name: 'cli', type: 'berth-firewall',
      args: { cni: { labels: Object.entries(labels).map(([key, value]) => ({ key, value })), ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] } },
      prevResult: { cniVersion: '1.1.0', interfaces: [{ name: `veth-${name}` }, { name: 'eth0', sandbox: '/run/netns/none' }], ips: [{ address: `${ip}/24`, interface: 1 }] },
    };
    const result = await execCommand(['nsenter', `--net=${host.path}`, '--', plugin], {
      env: { ...env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_ARGS: `K8S_POD_NAMESPACE=shop;K8S_POD_NAME=${name}` },
      input: JSON.stringify(config),
    });
    t.equal(result.code, 0, `plugin ADD ${name}: ${result.stdout}`);
  };
  const file = join(root, 'policies.yaml');
  writeFileSync(file, policies);

  const applied = await cli('apply', '-f', file);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /Namespace\/shop created\nNetworkPolicy\/shop\/web created\nAdminNetworkPolicy\/no-ssh created/);
  t.match((await cli('apply', '-f', file)).stdout, /NetworkPolicy\/shop\/web unchanged/, 'a second apply changes nothing');

  await register('c-web', 'web-1', '10.66.0.2', { app: 'web' });
  await register('c-client', 'client', '10.66.0.3', { app: 'client' });
  const endpoints = JSON.parse((await cli('endpoints', '-o', 'json')).stdout) as { name: string; ips: string[] }[];
  t.same(endpoints.map((endpoint) => [endpoint.name, endpoint.ips]), [['web-1', ['10.66.0.2']], ['client', ['10.66.0.3']]]);

  const listed = JSON.parse((await cli('ls', '--output', 'json')).stdout) as { monitor: boolean; documents: { kind: string }[] };
  t.same(listed.documents.map((document) => document.kind).sort(), ['AdminNetworkPolicy', 'Namespace', 'NetworkPolicy']);

  const allowed = JSON.parse((await cli('explain', '--from', 'shop/client', '--to', 'shop/web-1', '--port', '8080/tcp', '-o', 'json')).stdout) as Record<string, unknown>;
  t.match(allowed, { verdict: 'allow', tier: 'networkpolicy', policy: 'NetworkPolicy shop/web', rule: 'ingress[0]' });
  const denied = await cli('explain', '--from', 'shop/client', '--to', '10.66.0.2', '--port', '22/tcp');
  t.match(denied.stdout, /^DENY {2}shop\/client \(10\.66\.0\.3\) -> shop\/web-1 \(10\.66\.0\.2\) tcp\/22\ndecided by: tier admin, AdminNetworkPolicy no-ssh, rule deny-ssh/);

  const table = await execCommand(['nsenter', `--net=${host.path}`, '--', 'nft', 'list', 'table', 'inet', 'berth-firewall']);
  t.match(table.stdout, /10\.66\.0\.2 : jump in4-/, 'the web pod is dispatched to its ingress group in the test namespace');

  const missing = await cli('rm', 'shop/nope');
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'berth: Cannot remove NetworkPolicy/shop/nope: no such document\n', 'one clear line on stderr');
  writeFileSync(file, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}\n');
  const invalid = await cli('apply', '-f', file);
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /^berth: document 1 \(NetworkPolicy bad\): spec\.ingress\[0\]\.ports\[0\]\.port: must be between 1 and 65535, got 0\n$/);

  t.match((await cli('rm', '--kind', 'anp', 'no-ssh')).stdout, /AdminNetworkPolicy\/no-ssh removed/);
  t.match((await cli('rm', 'shop/web', '-o', 'json')).stdout, /"removed": "NetworkPolicy\/shop\/web"/);
  const after = JSON.parse((await cli('explain', '--from', 'shop/client', '--to', 'shop/web-1', '--port', '22/tcp', '-o', 'json')).stdout) as Record<string, unknown>;
  t.match(after, { verdict: 'allow', tier: 'default' }, 'with the policies gone the flow is allowed by default');
});
