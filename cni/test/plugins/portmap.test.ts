import t from 'tap';
import { makeNetns, nftTableJson, sh, startServer, askServer, type Netns } from '../nat/topology.js';
import { bridgeConfig, callChecked, callPlugin, ipamDir } from './helpers.js';

const portmapConfig = (prevResult: unknown, portMappings: unknown[], extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0', name: 'bt-pm', type: 'berth-portmap', capabilities: { portMappings: true },
  runtimeConfig: { portMappings }, prevResult, ...extra,
});

/** Host with a client namespace routed to it on 192.0.2.0/24 (the host is 192.0.2.1). */
function withClient(t: Parameters<typeof makeNetns>[0], host: Netns): Netns {
  const client = makeNetns(t, 'pcl');
  sh(host, `ip link add hcl type veth peer name eth0 netns ${client.path} && ip link set hcl up && ip addr add 192.0.2.1/24 dev hcl`);
  sh(client, 'ip link set eth0 up && ip addr add 192.0.2.2/24 dev eth0 && ip route add default via 192.0.2.1');
  return client;
}

t.test('berth-portmap after berth-bridge: reached from outside, conflicts refused, DEL and GC exact', async (t) => {
  const host = makeNetns(t, 'ph');
  const client = withClient(t, host);
  const [c1, c2] = [makeNetns(t, 'pc'), makeNetns(t, 'pc')];
  const bridge = bridgeConfig('bt-pm', ipamDir(t), { hairpinMode: true });
  const add = async (id: string, ns: Netns) => {
    const prev = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: id, netns: ns.path, ifName: 'eth0', config: bridge });
    return prev;
  };
  const r1 = await add('c1', c1);
  const r2 = await add('c2', c2);
  await startServer(t, c1, 'tcp', 80);
  const mapping = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
  const out = await callChecked({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config: portmapConfig(r1, mapping) });
  t.same(out, r1, 'portmap passes prevResult through');
  t.equal(askServer(client, 'tcp', '192.0.2.1', 8080), '192.0.2.2', 'client -> host:8080 -> c1:80');
  t.equal(askServer(c1, 'tcp', '192.0.2.1', 8080), '10.66.0.1', 'hairpin');
  t.equal(askServer(host, 'tcp', '127.0.0.1', 8080), '10.66.0.1', 'localhost (route_localnet set on the bridge)');
  t.equal(sh(host, 'sysctl -n net.ipv4.conf.btbr0.route_localnet').trim(), '1');
  const conflict = await callPlugin({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config: portmapConfig(r2, mapping) });
  t.match(conflict.json, { code: 110, msg: /bt-pm\/c1\/eth0 holds it/ }, 'the same host port for c2 is refused');
  t.equal((await callPlugin({ plugin: 'berth-portmap', command: 'CHECK', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config: portmapConfig(r1, mapping) })).code, 0, 'CHECK');
  const check2 = await callPlugin({ plugin: 'berth-portmap', command: 'CHECK', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config: portmapConfig(r2, mapping) });
  t.match(check2.json, { msg: /port mapping elements missing/ }, 'CHECK of the refused one fails');
  await callChecked({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config: portmapConfig(r2, [{ hostPort: 9090, containerPort: 80, protocol: 'udp', hostIP: '192.0.2.1' }]) });
  await callChecked({ plugin: 'berth-portmap', command: 'GC', host, config: { ...portmapConfig(undefined, []), 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] } });
  t.equal(askServer(client, 'tcp', '192.0.2.1', 8080), undefined, 'GC removed c1\'s mapping (c1 not listed)');
  t.match(sh(host, 'nft list map inet berth-nat ports-hostip-v4'), /192\.0\.2\.1 \. udp \. 9090 comment "bt-pm\/c2\/eth0"/);
  t.match(sh(host, 'nft list set inet berth-nat masq-v4'), /10\.66\.0\.2/, 'GC of portmap leaves the bridge\'s masquerade');
  await callChecked({ plugin: 'berth-portmap', command: 'DEL', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config: portmapConfig(undefined, []) });
  t.notMatch(sh(host, 'nft list table inet berth-nat'), /9090/, 'DEL needs no prevResult');
  for (const [id, ns] of [['c1', c1], ['c2', c2]] as const) {
    await callChecked({ plugin: 'berth-bridge', command: 'DEL', host, containerId: id, netns: ns.path, ifName: 'eth0', config: bridge });
  }
  t.equal(nftTableJson(host, 'inet', 'berth-nat'), undefined, 'nothing left');
});

t.test('berth-portmap: no mappings is a pass-through, no prevResult is an error', async (t) => {
  const host = makeNetns(t, 'ph');
  const prev = { cniVersion: '1.1.0', ips: [{ address: '10.9.0.2/24' }] };
  const out = await callChecked({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c', netns: makeNetns(t, 'pc').path, ifName: 'eth0', config: portmapConfig(prev, []) });
  t.same(out, prev);
  t.equal(nftTableJson(host, 'inet', 'berth-nat'), undefined, 'no table made for nothing');
  const bad = await callPlugin({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c', netns: makeNetns(t, 'pc').path, ifName: 'eth0', config: portmapConfig(undefined, [{ hostPort: 1, containerPort: 1, protocol: 'tcp' }]) });
  t.match(bad.json, { code: 7, msg: /prevResult/ });
  const proto = await callPlugin({ plugin: 'berth-portmap', command: 'ADD', host, containerId: 'c', netns: makeNetns(t, 'pc').path, ifName: 'eth0', config: portmapConfig(prev, [{ hostPort: 1, containerPort: 1, protocol: 'icmp' }]) });
  t.match(proto.json, { code: 111, msg: /protocol "icmp"/ });
});
