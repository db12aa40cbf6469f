import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForEtcdHealthy } from '../../src/cluster/etcd-probe.js';
import { EtcdKvStore } from '../../src/store/etcd-kv-store.js';
import type { WatchEvent } from '../../src/store/kv-store.js';
import { toRevision } from '../../src/store/revision.js';
import { startLocalEtcdCluster } from '../helpers/local-etcd.js';
import { storeContract } from './contract.js';

const cluster = await startLocalEtcdCluster(t, { size: 3 });
const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls: cluster.clientTls });
t.teardown(() => store.close());
storeContract(t, () => ({ store, endLease: async (id) => void (await store.client.leaseClient.leaseRevoke({ ID: id })) }), '/berth/v1/test');

t.test('a watch on a member that is killed and restarted resumes from its last revision: no gap, no duplicate', async (t) => {
  // The watched member is a follower and the writer talks to another member, so the writes never wait on an election.
  const status = await store.client.maintenance.status();
  const leaderId = status.leader;
  const roles = await Promise.all(cluster.members.map(async (member) => {
    const probe = new EtcdKvStore({ endpoints: [member.clientUrl], tls: cluster.clientTls });
    try { return { member, leader: (await probe.client.maintenance.status()).header.member_id === leaderId }; } finally { await probe.close(); }
  }));
  const target = roles.find((r) => !r.leader)?.member;
  const writerMember = roles.find((r) => r.member !== target)?.member;
  if (target === undefined || writerMember === undefined) throw new Error('no follower');
  const watchStore = new EtcdKvStore({ endpoints: [target.clientUrl], tls: cluster.clientTls });
  const writer = new EtcdKvStore({ endpoints: [writerMember.clientUrl], tls: cluster.clientTls });
  t.teardown(async () => { await watchStore.close(); await writer.close(); });
  const prefix = '/berth/v1/test/resume/';
  const start = await writer.txn([], [{ kind: 'put', key: `${prefix}n`, value: Buffer.from('0') }]);
  const seen: WatchEvent[] = [];
  const watch = watchStore.watch(prefix, { fromRevision: start.revision, onEvents: (e) => seen.push(...e), onResync: () => t.fail('no resync expected') });
  t.teardown(() => watch.close());
  const writesTotal = 60;
  for (let i = 1; i <= writesTotal; i += 1) {
    if (i === 20) {
      // SIGKILL the watched member mid-stream; the supervisor restarts it while writes go on elsewhere.
      process.kill(target.member.pid ?? -1, 'SIGKILL');
    }
    await writer.txn([], [{ kind: 'put', key: `${prefix}n`, value: Buffer.from(String(i)) }]);
    if (i % 10 === 0) await sleep(100);
  }
  await waitForEtcdHealthy(target.clientUrl, cluster.clientTls, { timeoutMs: 20_000 });
  for (const deadline = Date.now() + 20_000; seen.length < writesTotal + 1 && Date.now() < deadline;) await sleep(50);
  t.same(seen.map((e) => e.value.toString()), Array.from({ length: writesTotal + 1 }, (_, i) => String(i)), 'every value once, in order');
  t.ok(target.events.some((e) => e.kind === 'exited'), 'the member did die');
  t.equal(watch.resyncs, 0);
  t.ok(watch.deliveredRevision >= toRevision(start.revision + writesTotal));
});
