/**
 * The enforcer against the real kernel, in a test host namespace with pods on one bridge: traffic between
 * pods on the bridge is filtered by the inet forward hook (br_netfilter), updates go incremental when they
 * can, fall back to a full resync when the kernel lost the table, and nothing outside the test namespaces
 * is touched.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Firewall, type EndpointRecord } from '@berth/firewall';
import { execChecked, TestHost, type TeardownRegistry } from '../../src/harness/index.js';
import { bridgeWithPods, type BridgePod as Pod } from '../../src/netpol/bridge-pods.js';
import { ProbeAgent } from '../../src/netpol/probe-agent.js';

const probeTimeoutMs = 800;
const rootTablesBefore = await execChecked(['nft', 'list', 'tables']);

function firewallIn(t: TeardownRegistry, host: TestHost): Firewall {
  const root = mkdtempSync(join(tmpdir(), 'bt-fw-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return new Firewall({ root, netns: host.path });
}

t.test('policies are enforced on bridged pod traffic, incrementally, with resync and monitor mode', async (t) => {
  const host = await TestHost.create(t, 'fwhost');
  t.equal((await host.execChecked(['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'])).trim(), '1',
    'br_netfilter hands bridged IPv4 to the inet hooks in a new namespace');
  const pods = await bridgeWithPods(host, 3, 77);
  const [a, b, c] = pods as [Pod, Pod, Pod];
  const agents = await Promise.all(pods.map((pod) => ProbeAgent.start(t, pod.netns.path, [80, 81])));
  const [agentA, , agentC] = agents as [ProbeAgent, ProbeAgent, ProbeAgent];
  const firewall = firewallIn(t, host);
  const record = (pod: Pod, name: string): EndpointRecord => ({
    namespace: 'x', name, labels: { pod: name }, ips: [pod.ip], interface: pod.hostInterface, namedPorts: [{ name: 'web', port: 81, protocol: 'TCP' }],
    network: 'test', containerId: `container-${name}`, ifName: 'eth0',
  });
  for (const [pod, name] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) await firewall.registerEndpoint(record(pod, name));

  t.same([await agentA.probe(b.ip, 80, 'tcp', probeTimeoutMs), await agentC.probe(b.ip, 80, 'udp', probeTimeoutMs)], [true, true], 'no policy: open');

  const deny = await firewall.apply('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {matchLabels: {pod: b}}, policyTypes: [Ingress]}\n');
  t.equal(deny.enforcement.mode, 'incremental', 'endpoint registration already created the table, so this is a diff');
  t.same([await agentA.probe(b.ip, 80, 'tcp', probeTimeoutMs), await agentC.probe(b.ip, 80, 'udp', probeTimeoutMs), await agentA.probe(c.ip, 80, 'tcp', probeTimeoutMs)], [false, false, true],
    'default deny isolates b only');

  const allow = await firewall.apply('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-a, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: b}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: a}}}], ports: [{port: web}]}]\n');
  t.equal(allow.enforcement.mode, 'incremental');
  t.same([await agentA.probe(b.ip, 81, 'tcp', probeTimeoutMs), await agentA.probe(b.ip, 80, 'tcp', probeTimeoutMs), await agentC.probe(b.ip, 81, 'tcp', probeTimeoutMs)], [true, false, false],
    'the allow adds exactly a → b on the named port');

  await host.execChecked(['nft', 'delete', 'table', 'inet', 'berth-firewall']);
  const recovered = await firewall.setMonitor(false);
  t.equal(recovered.enforcement.mode, 'full', 'a lost table is rebuilt in full');
  t.match(recovered.enforcement.fallbackReason, /missing/);
  t.same([await agentA.probe(b.ip, 81, 'tcp', probeTimeoutMs), await agentC.probe(b.ip, 81, 'tcp', probeTimeoutMs)], [true, false]);

  const monitored = await firewall.setMonitor(true);
  t.equal(monitored.enforcement.mode, 'incremental');
  t.equal(await agentC.probe(b.ip, 81, 'tcp', probeTimeoutMs), true, 'monitor mode accepts the would-be drop');
  const hits = firewall.counters().find((counter) => counter.chain === 'monitor/in/np/x');
  t.ok((hits?.packets ?? 0) > 0, 'and counts it against the deciding namespace');
  const drop = { chain: 'monitor/in/np/x', source: c.ip, destination: b.ip, protocol: 'tcp', port: 81 };
  const listedDrops = () => firewall.monitorHits().map(({ chain, source, destination, protocol, port }) => ({ chain, source, destination, protocol, port }));
  t.same(listedDrops(), [drop], 'the CLI path lists the would-be drop (berth policy stats --drops)');

  t.equal((await firewall.resync()).enforcement.mode, 'full', 'resync on demand');
  t.same(listedDrops(), [drop], 'a full resync of the CLI path keeps it');
  await firewall.setMonitor(false);
  t.equal(await agentC.probe(b.ip, 81, 'tcp', probeTimeoutMs), false, 'leaving monitor mode drops again');

  await firewall.remove('NetworkPolicy/x/deny');
  await firewall.remove('NetworkPolicy/x/allow-a');
  t.same([await agentC.probe(b.ip, 80, 'tcp', probeTimeoutMs), await agentC.probe(b.ip, 81, 'udp', probeTimeoutMs)], [true, true], 'removing the policies restores traffic');

  await firewall.unregisterEndpoint('container-b', 'eth0');
  t.same(firewall.read().endpoints.map((endpoint) => endpoint.name), ['a', 'c'], 'DEL removes the endpoint of its container only');
  await firewall.disable();
  t.notMatch(await host.execChecked(['nft', 'list', 'tables']), /berth-firewall/, 'disable removes the table');
});

t.test('established connections survive a full resync that denies new ones', async (t) => {
  const host = await TestHost.create(t, 'fwhost');
  const [a, b] = (await bridgeWithPods(host, 2, 78)) as [Pod, Pod];
  const firewall = firewallIn(t, host);
  await firewall.registerEndpoint({ namespace: 'x', name: 'b', labels: {}, ips: [b.ip], interface: b.hostInterface, namedPorts: [], network: 'test', containerId: 'cb', ifName: 'eth0' });
  // A long-lived UDP "connection": the same 5-tuple before and after the policy change.
  await ProbeAgent.start(t, b.netns.path, [90]);
  const script = `import dgram from 'node:dgram'; const s = dgram.createSocket('udp4'); let n = 0;
    s.bind(40000, () => { const send = () => s.send('x', 90, '${b.ip}'); send(); setInterval(send, 100); });
    s.on('message', () => { n += 1; }); setInterval(() => process.stdout.write(n + '\\n'), 100); setTimeout(() => process.exit(0), 60000);`;
  const child = spawn('nsenter', [`--net=${a.netns.path}`, '--', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (child.exitCode === null) child.kill(); });
  let replies = 0;
  child.stdout.on('data', (data: Buffer) => { replies = Math.max(replies, ...String(data).trim().split('\n').map(Number)); });
  /** Waits (bounded) until more than `count` replies arrived; false if they stopped. */
  const repliesExceed = async (count: number): Promise<boolean> => {
    for (let attempt = 0; attempt < 100 && replies <= count; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    return replies > count;
  };
  t.ok(await repliesExceed(0), 'the flow is established before the change');
  await firewall.apply('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n');
  await firewall.resync();
  t.ok(await repliesExceed(replies + 2), 'replies keep arriving on the established flow');
  const fresh = await ProbeAgent.start(t, a.netns.path, []);
  t.equal(await fresh.probe(b.ip, 90, 'udp', probeTimeoutMs), false, 'while a new flow is dropped');
});

t.test('the root namespace ruleset is untouched', async (t) => {
  t.equal(await execChecked(['nft', 'list', 'tables']), rootTablesBefore);
});
