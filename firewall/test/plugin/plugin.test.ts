/**
 * berth-firewall through the CNI skeleton, in process: the configuration and environment an engine would pass,
 * the spec's JSON on stdout. Enforcement goes to the nft interpreter (the kernel path is covered by the
 * enforcer and conformance tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runPlugin } from '@berth/cni';
import { createFirewallPlugin } from '../../src/plugin/plugin.js';
import { FirewallStore } from '../../src/state/store.js';
import { interpreterBackend } from '../support/backend.js';
import { NftInterpreter } from '../support/nft-interpreter.js';

function setup(t: Test): { root: string; interpreter: NftInterpreter; call: (env: Record<string, string>, config: object) => Promise<{ code: number; stdout: unknown }> } {
  const root = mkdtempSync(join(tmpdir(), 'bt-fwplugin-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const interpreter = new NftInterpreter();
  const plugin = createFirewallPlugin({ root, backend: interpreterBackend(interpreter) });
  const call = async (env: Record<string, string>, config: object): Promise<{ code: number; stdout: unknown }> => {
    let stdout = '';
    const code = await runPlugin(plugin, { env, readStdin: async () => JSON.stringify(config), writeStdout: (text) => { stdout += text; } });
    return { code, stdout: stdout === '' ? null : JSON.parse(stdout) as unknown };
  };
  return { root, interpreter, call };
}

const prevResult = (address: string) => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'veth-host', mac: '02:00:00:00:00:01' }, { name: 'eth0', sandbox: '/run/netns/c1' }],
  ips: [{ address: `${address}/24`, gateway: '10.5.0.1', interface: 1 }],
});
const config = (extra: object = {}) => ({ cniVersion: '1.0.0', name: 'net1', type: 'berth-firewall', prevResult: prevResult('10.5.0.7'), ...extra });
const env = (command: string, containerId = 'c1', args = '') => ({ CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_ARGS: args, CNI_PATH: '/opt/cni/bin' });

t.test('ADD registers the endpoint and passes prevResult through', async (t) => {
  const { root, call, interpreter } = setup(t);
  const result = await call(env('ADD', 'c1', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1'), config({
    args: { cni: { namespace: 'ignored', labels: [{ key: 'app', value: 'web' }], ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 9 }] } },
  }));
  t.equal(result.code, 0);
  t.same(result.stdout, prevResult('10.5.0.7'), 'the result is prevResult, unchanged');
  const [endpoint] = new FirewallStore(root).read().endpoints;
  t.same(endpoint, {
    namespace: 'shop', name: 'web-1', labels: { app: 'web' }, ips: ['10.5.0.7'], interface: 'veth-host',
    namedPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }], network: 'net1', containerId: 'c1', ifName: 'eth0',
  }, 'CNI_ARGS win over args.cni; unnamed ports are skipped');
  t.same(interpreter.tableNames(), ['berth-firewall'], 'the table is in place');
});

t.test('namespace falls back to args.cni.namespace, then default', async (t) => {
  const { root, call } = setup(t);
  t.equal((await call(env('ADD', 'c1'), config({ args: { cni: { namespace: 'team-a' } } }))).code, 0);
  t.equal((await call(env('ADD', 'c2'), { ...config(), prevResult: prevResult('10.5.0.8') })).code, 0);
  t.same(new FirewallStore(root).read().endpoints.map((endpoint) => `${endpoint.namespace}/${endpoint.name}`), ['team-a/c1', 'default/c2']);
});

t.test('invalid input is refused with code 7 and nothing registered', async (t) => {
  const { root, call } = setup(t);
  const cases: ReadonlyArray<[string, object]> = [
    ['no prevResult', { cniVersion: '1.0.0', name: 'net1', type: 'berth-firewall' }],
    ['label value too long', config({ args: { cni: { labels: [{ key: 'app', value: 'x'.repeat(64) }] } } })],
    ['labels not a list', config({ args: { cni: { labels: { app: 'web' } } } })],
    ['port out of range', config({ args: { cni: { ports: [{ name: 'http', containerPort: 70000 }] } } })],
    ['bad namespace', config({ args: { cni: { namespace: 'Not_Valid' } } })],
  ];
  for (const [name, body] of cases) {
    const result = await call(env('ADD'), body);
    t.equal(result.code, 1, `${name}: fails`);
    t.match(result.stdout, { code: 7 }, `${name}: code 7`);
  }
  t.same(new FirewallStore(root).read().endpoints, []);
});

t.test('DEL removes only its own attachment and is idempotent; CHECK verifies', async (t) => {
  const { root, call } = setup(t);
  await call(env('ADD', 'c1'), config());
  await call(env('ADD', 'c2'), { ...config(), prevResult: prevResult('10.5.0.8') });
  t.equal((await call(env('CHECK', 'c1'), config())).code, 0, 'CHECK passes for a registered attachment');
  t.match((await call(env('CHECK', 'c1'), { ...config(), prevResult: prevResult('10.5.0.99') })).stdout, { code: 7 }, 'CHECK notices a changed address');
  t.match((await call(env('CHECK', 'c9'), config())).stdout, { code: 3 }, 'CHECK of an unknown container is code 3');
  t.equal((await call(env('DEL', 'c1'), config())).code, 0);
  t.equal((await call(env('DEL', 'c1'), config())).code, 0, 'a second DEL succeeds');
  t.same(new FirewallStore(root).read().endpoints.map((endpoint) => endpoint.containerId), ['c2']);
});

t.test('GC drops this network\'s orphans and keeps other networks\' endpoints', async (t) => {
  const { root, call } = setup(t);
  const v11 = (name: string, address: string) => ({ ...config(), cniVersion: '1.1.0', name, prevResult: { ...prevResult(address), cniVersion: '1.1.0' } });
  await call(env('ADD', 'c1'), v11('net1', '10.5.0.7'));
  await call(env('ADD', 'c2'), v11('net1', '10.5.0.8'));
  await call(env('ADD', 'c3'), v11('net2', '10.6.0.8'));
  const gc = await call({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, { cniVersion: '1.1.0', name: 'net1', type: 'berth-firewall', 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] });
  t.equal(gc.code, 0);
  t.same(new FirewallStore(root).read().endpoints.map((endpoint) => endpoint.containerId).sort(), ['c2', 'c3']);
});

t.test('older config versions get their result converted', async (t) => {
  const { call } = setup(t);
  const result = await call(env('ADD'), { ...config(), cniVersion: '0.3.1', prevResult: { ...prevResult('10.5.0.7'), cniVersion: '0.3.1' } });
  t.equal(result.code, 0);
  t.match(result.stdout, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.5.0.7/24' }] });
});
