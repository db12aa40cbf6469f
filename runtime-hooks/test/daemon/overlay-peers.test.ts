import t from 'tap';
import { formatCidr, formatIp } from '@berth/cni';
import { overlayLeasesCollection, toRevision, type NetworkRecord, type OverlayLeaseRecord, type StoredLease } from '@berth/secrets';
import { overlayPeersOf } from '../../src/daemon/networks/overlay-peers.js';

const record: NetworkRecord = { name: 'ovl', driver: 'vxlan', subnets: ['10.244.0.0/16'], vni: 4096, hostPrefixLength: 24, options: {}, createdAt: '2026-12-03T00:00:00.000Z' };
const lease = (host: number, extra: Partial<OverlayLeaseRecord> = {}): OverlayLeaseRecord => ({
  network: 'ovl', vni: 4096, subnet: `10.244.${host}.0/24`, vtep: `10.77.0.${host}`, mac: `0a:00:00:00:00:${String(host).padStart(2, '0')}`, hostname: `h${host}`, ...extra,
});
const stored = (nodeId: string, value: OverlayLeaseRecord, createRevision: number): StoredLease => ({
  nodeId, collection: overlayLeasesCollection(nodeId), value, modRevision: toRevision(createRevision), createRevision: toRevision(createRevision), leaseId: undefined,
});
const describe = (peers: ReturnType<typeof overlayPeersOf>['peers']) => peers.map((peer) => `${peer.name} ${formatIp(peer.address)} ${formatCidr(peer.subnet)}`);

t.test('this host first (from the lease it holds), then every other host of this network and VNI', async (t) => {
  const { peers, skipped } = overlayPeersOf(record, [
    stored('n2', lease(2), 10), stored('n1', lease(1, { subnet: '10.244.9.0/24' }), 5), stored('n3', lease(3), 12),
    stored('n4', lease(4, { vni: 17 }), 13), stored('n5', lease(5, { network: 'other' }), 14), stored('n6', lease(6, { subnet: '10.9.6.0/24' }), 15),
  ], { nodeId: 'n1', lease: lease(1) });
  t.same(describe(peers), ['h1 10.77.0.1 10.244.1.0/24', 'h2 10.77.0.2 10.244.2.0/24', 'h3 10.77.0.3 10.244.3.0/24'],
    'its own stored lease is replaced by the one it holds; other VNIs, networks and ranges are not peers');
  t.equal(skipped, 0);
});

t.test('a lease conflicting with an older one is left out: a forged lease cannot take a subnet, an address or a MAC', async (t) => {
  const { peers, skipped } = overlayPeersOf(record, [
    stored('n2', lease(2), 10),
    stored('evil', lease(7, { subnet: '10.244.2.0/25' }), 20),
    stored('evil2', lease(8, { vtep: '10.77.0.2' }), 21),
    stored('evil3', lease(9, { mac: '0a:00:00:00:00:02' }), 22),
    stored('evil4', lease(10, { subnet: '10.244.1.0/24' }), 23),
  ], { nodeId: 'n1', lease: lease(1) });
  t.same(describe(peers), ['h1 10.77.0.1 10.244.1.0/24', 'h2 10.77.0.2 10.244.2.0/24']);
  t.equal(skipped, 4, 'four forged leases skipped');
});
