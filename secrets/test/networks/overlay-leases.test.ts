import t from 'tap';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { Store } from '../../src/store/typed-store.js';
import { createNetwork, removeNetwork } from '../../src/networks/network-store.js';
import { claimHostSubnet, listOverlayLeases } from '../../src/networks/overlay-leases.js';
import { overlayLeasesCollection } from '../../src/networks/schema.js';

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

async function setup() {
  const kv = new MemoryKvStore();
  const store = new Store(kv);
  const network = await createNetwork(store, { name: 'ovl', driver: 'vxlan', subnets: ['10.244.0.0/22'], hostPrefixLength: 24, options: {} });
  return { kv, store, network };
}

t.test('concurrent claims: every host gets a different subnet; once all are held a further claim is refused', async (t) => {
  const { store, network } = await setup();
  const hosts = ['n1', 'n2', 'n3'];
  const claims = await Promise.all(hosts.map(async (nodeId, index) => claimHostSubnet(store, {
    nodeId, network, vtep: `10.77.0.${11 + index}`, mac: `0a:00:00:00:00:0${index + 1}`, hostname: nodeId, lease: await store.grantLease(10), random: () => 0,
  })));
  t.same(claims.map((claim) => claim.subnet).sort(), ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24'], 'three hosts choosing the same subnet first end on three subnets');
  await t.rejects(claimHostSubnet(store, { nodeId: 'n4', network, vtep: '10.77.0.14', mac: '0a:00:00:00:00:04', hostname: 'n4', lease: await store.grantLease(10) }),
    /every \/24 of 10\.244\.0\.0\/22 is held by another host/);
});

t.test('a host keeps its subnet across claims, moves it under a new liveness lease, and loses it with that lease', async (t) => {
  const { kv, store, network } = await setup();
  const first = await store.grantLease(10);
  const request = { nodeId: 'n1', network, vtep: '10.77.0.11', mac: '0a:00:00:00:00:01', hostname: 'h1', random: seeded(1) };
  const claimed = await claimHostSubnet(store, { ...request, lease: first });
  const second = await store.grantLease(10);
  const again = await claimHostSubnet(store, { ...request, lease: second });
  t.equal(again.subnet, claimed.subnet, 'the same subnet');
  t.equal((await store.kv.get(overlayLeasesCollection('n1').key('ovl'))).kv?.lease, second.id, 'now under the new lease');
  kv.expireLease(first.id);
  t.equal((await listOverlayLeases(store)).leases.length, 1, 'the old lease ending takes nothing');
  kv.expireLease(second.id);
  t.equal((await listOverlayLeases(store)).leases.length, 0, 'the liveness lease ending releases the subnet');
  const back = await claimHostSubnet(store, { ...request, lease: await store.grantLease(10), preferred: undefined, random: () => 0.99 });
  const preferred = await claimHostSubnet(store, { ...request, nodeId: 'n2', lease: await store.grantLease(10), preferred: undefined, random: () => 0 });
  t.not(back.subnet, preferred.subnet);
});

t.test('removing a network drops every lease of it in the same transaction; a claim after it is refused', async (t) => {
  const { store, network } = await setup();
  await claimHostSubnet(store, { nodeId: 'n1', network, vtep: '10.77.0.11', mac: '0a:00:00:00:00:01', hostname: 'h1', lease: await store.grantLease(10) });
  await removeNetwork(store, 'ovl');
  t.same((await listOverlayLeases(store)).leases, [], 'no lease left');
  await t.rejects(claimHostSubnet(store, { nodeId: 'n2', network, vtep: '10.77.0.12', mac: '0a:00:00:00:00:02', hostname: 'h2', lease: await store.grantLease(10) }), /removed or changed/);
});

t.test('a lease whose value names another network or node does not count as a peer or block a subnet', async (t) => {
  const { store, network } = await setup();
  await store.kv.txn([], [{ kind: 'put', key: '/berth/v1/overlay/n9/ovl', value: Buffer.from(JSON.stringify({ network: 'other', vni: 4096, subnet: '10.244.1.0/24', vtep: '10.77.0.19', mac: '0a:00:00:00:00:09', hostname: 'forged' })) }]);
  await store.kv.txn([], [{ kind: 'put', key: '/berth/v1/overlay/n8/ovl', value: Buffer.from('{"not":"a lease"}') }]);
  t.same((await listOverlayLeases(store)).leases, []);
  const claim = await claimHostSubnet(store, { nodeId: 'n1', network, vtep: '10.77.0.11', mac: '0a:00:00:00:00:01', hostname: 'h1', lease: await store.grantLease(10), random: () => 0 });
  t.equal(claim.subnet, '10.244.1.0/24');
});

t.test('networks: names unique, subnets disjoint, VNIs chosen unique even when managers create at once', async (t) => {
  const store = new Store(new MemoryKvStore());
  const created = await Promise.all(Array.from({ length: 6 }, (_, index) => createNetwork(store, {
    name: `ovl${index}`, driver: 'vxlan', subnets: [`10.${100 + index}.0.0/16`], hostPrefixLength: 24, options: {},
  })));
  t.same(created.map((entry) => entry.value.vni).sort(), [4096, 4097, 4098, 4099, 4100, 4101], 'six distinct VNIs');
  await t.rejects(createNetwork(store, { name: 'ovl0', driver: 'bridge', subnets: ['10.89.0.0/24'], options: {} }), /ovl0: it exists in the cluster/);
  await t.rejects(createNetwork(store, { name: 'b', driver: 'bridge', subnets: ['10.100.5.0/24'], options: {} }), /overlaps network ovl0/);
  await t.rejects(createNetwork(store, { name: 'c', driver: 'vxlan', vni: 4097, subnets: ['10.200.0.0/16'], hostPrefixLength: 24, options: {} }), /VNI 4097 is in use by network ovl1/);
  await t.rejects(createNetwork(store, { name: 'd', driver: 'vxlan', subnets: ['10.201.0.0/16'], hostPrefixLength: 24, options: {} }, { localVnis: new Map([[4102, 'local']]) }).then((entry) => {
    if (entry.value.vni === 4102) throw new Error('took a VNI a local conflist uses');
    throw new Error(`ok ${entry.value.vni}`);
  }), /ok 4103/);
});
