import t from 'tap';
import { EtcdKvStore } from '../../src/store/etcd-kv-store.js';
import { Store } from '../../src/store/typed-store.js';
import { createNetwork } from '../../src/networks/network-store.js';
import { claimHostSubnet, listOverlayLeases } from '../../src/networks/overlay-leases.js';
import { startLocalEtcdCluster } from '../helpers/local-etcd.js';

/**
 * Never two hosts on one subnet, on a real etcd: twelve hosts, each with its own client, claim at the same moment and
 * all start from the same choice (the first free subnet), so every claim but one collides each round.
 */
const cluster = await startLocalEtcdCluster(t, { size: 1 });
const hostsCount = 12;
const stores = Array.from({ length: hostsCount }, () => new Store(new EtcdKvStore({ endpoints: cluster.endpoints, tls: cluster.clientTls })));
t.teardown(async () => { for (const store of stores) await store.kv.close(); });
const [admin] = stores as [Store];

t.test('concurrent claims on etcd: twelve hosts, twelve distinct subnets, each under its host\'s lease', async (t) => {
  const network = await createNetwork(admin, { name: 'race', driver: 'vxlan', subnets: ['10.250.0.0/20'], hostPrefixLength: 24, options: {} });
  const leases = await Promise.all(stores.map((store) => store.grantLease(30)));
  const started = Date.now();
  const claims = await Promise.all(stores.map((store, index) => claimHostSubnet(store, {
    nodeId: `n${index}`, network, vtep: `10.77.1.${index + 1}`, mac: `0a:00:00:00:01:${(index + 16).toString(16)}`, hostname: `h${index}`,
    lease: leases[index] ?? (() => { throw new Error('no lease'); })(), random: () => 0,
  })));
  t.comment(`${hostsCount} concurrent claims settled in ${Date.now() - started} ms`);
  const subnets = claims.map((claim) => claim.subnet);
  t.equal(new Set(subnets).size, hostsCount, `distinct: ${subnets.join(' ')}`);
  const stored = (await listOverlayLeases(admin)).leases;
  t.equal(stored.length, hostsCount, 'one key per host');
  t.ok(stored.every((lease) => lease.leaseId === leases[Number(lease.nodeId.slice(1))]?.id), 'each under its own host\'s lease');
  await leases[0]?.revoke();
  t.notOk((await listOverlayLeases(admin)).leases.some((lease) => lease.nodeId === 'n0'), 'a revoked host lease releases its subnet at once');
  for (const lease of leases.slice(1)) await lease.revoke();
});
