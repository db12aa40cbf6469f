/**
 * The recent would-be drops of monitor mode, through the real kernel: pods on a bridge in a test host, berthd's
 * engine enforcing there. A packet a policy would deny passes in monitor mode and its addresses and port are
 * listed (the monitor chain came with a delta), still after a full resync (the hits are carried over), and
 * without monitor mode the same packet is dropped and nothing new is recorded.
 */
import t from 'tap';
import { FirewallEngine, parseDocuments, type Endpoint } from '@berth/firewall';
import { TestHost } from '../../src/harness/index.js';
import { bridgeWithPods, type BridgePod } from '../../src/netpol/bridge-pods.js';
import { ProbeAgent } from '../../src/netpol/probe-agent.js';

const probeTimeoutMs = 600;
const isolate = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: isolate, namespace: x}\nspec: {podSelector: {matchLabels: {pod: server}}, policyTypes: [Ingress]}\n';

t.test('monitor mode lets a would-be drop through and lists its source, destination and port', async (t) => {
  const host = await TestHost.create(t, 'fwhits');
  const [client, server] = (await bridgeWithPods(host, 2, 81)) as [BridgePod, BridgePod];
  const prober = await ProbeAgent.start(t, client.netns.path, []);
  await ProbeAgent.start(t, server.netns.path, [8443]);
  const endpoint = (name: string, pod: BridgePod): Endpoint => ({ namespace: 'x', name, labels: { pod: name }, ips: [pod.ip], interface: pod.hostInterface, namedPorts: [] });
  const { engine } = FirewallEngine.start({
    documents: parseDocuments(isolate).map((item) => item.document), endpoints: [endpoint('client', client), endpoint('server', server)], monitor: false,
  }, { netns: host.path });
  t.teardown(() => engine.close());

  t.equal(await prober.probe(server.ip, 8443, 'tcp', probeTimeoutMs), false, 'enforcing: the policy drops the connection');
  t.same(engine.monitorHits(), [], 'a drop is no would-be drop');

  t.equal(engine.setMonitor(true).mode, 'incremental', 'monitor mode comes as a delta (the monitor chain with its recording rules)');
  t.equal(await prober.probe(server.ip, 8443, 'tcp', probeTimeoutMs), true, 'monitor mode: the packet passes');
  const hits = engine.monitorHits();
  t.same(hits.map(({ chain, source, destination, protocol, port }) => ({ chain, source, destination, protocol, port })),
    [{ chain: 'monitor/in/np/x', source: client.ip, destination: server.ip, protocol: 'tcp', port: 8443 }], 'and is listed against the deciding namespace');
  t.ok(hits.every((hit) => hit.secondsAgo >= 0 && hit.secondsAgo <= 5), `seen just now (${hits.map((hit) => hit.secondsAgo).join(', ')} s ago)`);
  t.ok((engine.counters().find((counter) => counter.chain === 'monitor/in/np/x')?.packets ?? 0) > 0, 'the counter counts it too');

  t.equal(engine.resync(engine.snapshot()).mode, 'full');
  t.same(engine.monitorHits().map((hit) => [hit.source, hit.destination, hit.port]), [[client.ip, server.ip, 8443]], 'a full resync keeps the recent hits');

  engine.setMonitor(false);
  t.equal(await prober.probe(server.ip, 9443, 'tcp', probeTimeoutMs), false, 'monitor off: dropped again');
  t.same(engine.monitorHits(), [], 'and the hits of a monitor chain that is gone are not listed');
});
