import t from 'tap';
import type { NetworkRecord } from '@berth/secrets';
import { buildConflist, clusterConflist, isClusterConflist } from '../../src/networks/conflist.js';
import { overlayNetworkOf } from '../../src/daemon/networks/overlay-peers.js';

const createdAt = '2026-12-03T00:00:00.000Z';
const available = new Set(['berth-portmap', 'berth-firewall']);
const leased: NetworkRecord = { name: 'ovl', driver: 'vxlan', subnets: ['10.244.0.0/16'], vni: 4096, hostPrefixLength: 24, options: { mtu: 1400 }, createdAt };

t.test('a leased vxlan network: marked as the cluster\'s, this host\'s subnet and VTEP, no peers, the cluster\'s VNI', async (t) => {
  const conflist = clusterConflist(leased, { clusterId: 'c0ffee', available, host: { subnet: '10.244.7.0/24', vtep: '192.168.50.7' } });
  t.match(conflist, {
    cniVersion: '1.0.0', name: 'ovl', berth: { cluster: 'c0ffee' },
    plugins: [{ type: 'berth-vxlan', subnet: '10.244.0.0/16', vni: 4096, mtu: 1400, hostSubnet: '10.244.7.0/24', localAddress: '192.168.50.7', ipam: { type: 'berth-ipam' } }, { type: 'berth-portmap' }, { type: 'berth-firewall' }],
  });
  t.ok(isClusterConflist(conflist));
  t.throws(() => clusterConflist(leased, { clusterId: 'c0ffee', available }), /before this host leased its subnet/);
  t.match(overlayNetworkOf(conflist), { name: 'ovl', vni: 4096, port: 4789, device: 'bvx4096', bridge: 'bvb4096', mtu: 1400 }, 'berthd reads the network with the plugin\'s own parser');
});

t.test('other drivers and static peers render as the local path does, plus the marker', async (t) => {
  const bridge: NetworkRecord = { name: 'web', driver: 'bridge', subnets: ['10.89.5.0/24'], gateway: '10.89.5.1', options: {}, createdAt };
  const { berth, ...rest } = clusterConflist(bridge, { clusterId: 'c0ffee', available });
  t.same(berth, { cluster: 'c0ffee' });
  t.same(rest, buildConflist('web', { driver: 'bridge', subnets: ['10.89.5.0/24'], gateway: '10.89.5.1', options: {}, available }));
  const staticPeers: NetworkRecord = { ...leased, hostPrefixLength: undefined, peers: [{ address: '192.168.50.1', subnet: '10.244.1.0/24' }] };
  t.match(clusterConflist(staticPeers, { clusterId: 'c0ffee', available }), { plugins: [{ peers: [{ address: '192.168.50.1', subnet: '10.244.1.0/24' }] }] });
  t.notOk(isClusterConflist(buildConflist('web', { driver: 'bridge', subnets: ['10.89.5.0/24'], options: {}, available })), 'a local conflist carries no marker');
});
