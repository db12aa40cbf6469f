/**
 * Packets through the NAT table: a "host" namespace with a bridge and two "containers", and a "client" namespace
 * routed to the host. Servers answer with the source address they saw, which is what masquerade and DNAT change.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nft } from '@berth/nftables-napi';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import {
  OwnedTable, natTableSpec, masqueradeElements, masqueradeSets, ownerTag, portMappingElements, portMappingSets,
} from '../../src/nat/index.js';
import type { PortMapping } from '../../src/spec/runtime-config.js';
import { askServer, makeNetns, sh, startServer, suffix, type Netns, type Teardown } from './topology.js';

interface Topology { host: Netns; ctr1: Netns; ctr2: Netns; client: Netns; table: OwnedTable }

function attachContainer(host: Netns, ctr: Netns, v4: string, v6: string): void {
  const name = `bt${suffix()}`;
  sh(host, `ip link add ${name} type veth peer name eth0 netns ${ctr.path} && ip link set ${name} master br0 up && ` +
    `bridge link set dev ${name} hairpin on`);
  sh(ctr, `ip link set eth0 up && ip addr add ${v4}/24 dev eth0 && ip addr add ${v6}/64 dev eth0 nodad && ` +
    'ip route add default via 10.77.0.1 && ip -6 route add default via fd77::1');
}

async function buildTopology(t: Teardown): Promise<Topology> {
  const host = makeNetns(t, 'nh');
  const ctr1 = makeNetns(t, 'nc');
  const ctr2 = makeNetns(t, 'nc');
  const client = makeNetns(t, 'ncl');
  sh(host, 'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && ip link add br0 type bridge && ' +
    'ip link set br0 up && ip addr add 10.77.0.1/24 dev br0 && ip addr add fd77::1/64 dev br0 nodad');
  attachContainer(host, ctr1, '10.77.0.2', 'fd77::2');
  attachContainer(host, ctr2, '10.77.0.3', 'fd77::3');
  sh(host, `ip link add hcl type veth peer name eth0 netns ${client.path} && ip link set hcl up && ` +
    'ip addr add 192.0.2.1/24 dev hcl && ip addr add 2001:db8::1/64 dev hcl nodad');
  sh(client, 'ip link set eth0 up && ip addr add 192.0.2.2/24 dev eth0 && ip addr add 2001:db8::2/64 dev eth0 nodad && ' +
    'ip route add default via 192.0.2.1 && ip -6 route add default via 2001:db8::1');
  const nft = new Nft({ netns: host.path });
  const lockDir = mkdtempSync(join(tmpdir(), 'bt-nat-lock-'));
  t.teardown(() => { nft.close(); rmSync(lockDir, { recursive: true, force: true }); });
  return { host, ctr1, ctr2, client, table: new OwnedTable(natTableSpec, { nft, lockPath: join(lockDir, 'nat.lock') }) };
}

const owner1 = ownerTag({ network: 'nat-traffic', containerId: 'ctr1', ifName: 'eth0' });

t.test('masquerade: out of the host as the host, but not to the container\'s own subnet', async (t) => {
  const topo = await buildTopology(t);
  await startServer(t, topo.client, 'tcp', 7000);
  await startServer(t, topo.ctr2, 'tcp', 7000);
  t.equal(askServer(topo.ctr1, 'tcp', '192.0.2.2', 7000), '10.77.0.2', 'without NAT the client sees the container');
  await topo.table.sync(owner1, masqueradeSets, masqueradeElements(owner1, [parseCidr('10.77.0.2/24'), parseCidr('fd77::2/64')]));
  t.equal(askServer(topo.ctr1, 'tcp', '192.0.2.2', 7000), '192.0.2.1', 'IPv4 is masqueraded to the host address');
  t.equal(askServer(topo.ctr1, 'tcp', '2001:db8::2', 7000), '2001:db8::1', 'IPv6 is masqueraded to the host address');
  t.equal(askServer(topo.ctr1, 'tcp', '10.77.0.3', 7000), '10.77.0.2', 'a neighbour on the bridge sees the real address');
  t.equal(askServer(topo.ctr2, 'tcp', '192.0.2.2', 7000), '10.77.0.3', 'another container without ipMasq is untouched');
  await topo.table.sync(owner1, masqueradeSets, []);
  t.equal(askServer(topo.ctr1, 'tcp', '192.0.2.2', 7000), '10.77.0.2', 'after DEL the masquerade is gone');
});

t.test('port mappings: from outside, bound to one host address, hairpin, localhost, and gone after DEL', async (t) => {
  const topo = await buildTopology(t);
  await startServer(t, topo.ctr1, 'tcp', 80);
  await startServer(t, topo.ctr1, 'udp', 53);
  const mappings: PortMapping[] = [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    { hostPort: 8081, containerPort: 80, protocol: 'tcp', hostIP: '192.0.2.1' },
  ];
  t.equal(askServer(topo.client, 'tcp', '192.0.2.1', 8080), undefined, 'nothing answers before the mapping');
  await topo.table.sync(owner1, portMappingSets, portMappingElements({
    owner: owner1, containerAddresses: [parseIp('10.77.0.2'), parseIp('fd77::2')], mappings, snat: true,
  }));
  t.equal(askServer(topo.client, 'tcp', '192.0.2.1', 8080), '192.0.2.2', 'tcp reaches the container, client address kept');
  t.equal(askServer(topo.client, 'udp', '192.0.2.1', 5353), '192.0.2.2', 'udp too');
  t.equal(askServer(topo.client, 'tcp', '2001:db8::1', 8080), '2001:db8::2', 'IPv6 host address to IPv6 container address');
  t.equal(askServer(topo.client, 'tcp', '192.0.2.1', 8081), '192.0.2.2', 'host-IP-bound mapping on its address');
  t.equal(askServer(topo.client, 'tcp', '10.77.0.1', 8081), undefined, 'and not on another host address');
  t.equal(askServer(topo.ctr1, 'tcp', '192.0.2.1', 8080), '10.77.0.1', 'hairpin: the container reaches itself, as the host');
  t.equal(askServer(topo.ctr2, 'tcp', '192.0.2.1', 8080), '10.77.0.3', 'a neighbour through the host port keeps its address');
  sh(topo.host, 'sysctl -qw net.ipv4.conf.br0.route_localnet=1');
  t.equal(askServer(topo.host, 'tcp', '127.0.0.1', 8080), '10.77.0.1', 'localhost on the host reaches the container');
  await topo.table.sync(owner1, portMappingSets, []);
  t.equal(askServer(topo.client, 'tcp', '192.0.2.1', 8080), undefined, 'after DEL the port is closed again');
});
