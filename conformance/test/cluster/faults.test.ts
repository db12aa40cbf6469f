import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkHistory, describeFailure, monotonicClock, readHistoryFiles, type Operation } from '../../src/linearizability/index.js';
import { TestCluster } from '../../src/cluster/test-cluster.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const cluster = await TestCluster.start(t, { managers: 3 });

t.test('under SIGKILL of the etcd leader, SIGKILL of a berthd and a partition, the history through Berth\'s store is linearizable', async (t) => {
  const keys = ['k0', 'k1', 'k2', 'k3'];
  const seed = Math.floor(Math.random() * 1e9);
  t.comment(`workload seed ${seed}`);
  const clients = await Promise.all([1, 2, 3].map((id) => cluster.kvClient(id)));
  // Workloads run in 4 s chunks until the fault schedule is over, then one more chunk: however slow the machine,
  // operations keep running through every fault and after the heal. At most 20 chunks per client.
  let faultsDone = false;
  const workloads = Promise.all(clients.map(async (client, i) => {
    const totals = { operations: 0, ok: 0, unknown: 0, writesAcknowledged: 0 };
    for (let chunk = 0; chunk < 20; chunk += 1) {
      const last = faultsDone;
      const summary = await client.workload({ keys, durationMs: 4_000, opsMax: 1_000, pauseMs: 5, seed: seed + 100 * i + chunk });
      for (const field of ['operations', 'ok', 'unknown', 'writesAcknowledged'] as const) totals[field] += summary[field];
      if (last) break;
    }
    return totals;
  }));

  const log: string[] = [];
  const at = (event: string): void => void log.push(`${(monotonicClock.nowMs() / 1000).toFixed(3)} ${event}`);
  let healedMs = Infinity;
  const faults = (async () => {
    await sleep(3_000);
    const leader = await cluster.leader();
    const [leaderEtcd] = await leader.etcdProcesses();
    if (leaderEtcd === undefined) throw new Error('leader has no etcd process');
    at(`SIGKILL etcd leader on ${leader.host.name} (pid ${leaderEtcd.pid})`);
    process.kill(leaderEtcd.pid, 'SIGKILL');
    await waitFor('the killed member restarted', async () => (await leader.etcdProcesses()).some((p) => p.pid !== leaderEtcd.pid));
    at(`etcd on ${leader.host.name} restarted by its supervisor`);

    await sleep(2_000);
    const victim = cluster.managers.find((manager) => manager !== leader) ?? leader;
    const [orphan] = await victim.etcdProcesses();
    at(`SIGKILL berthd on ${victim.host.name}`);
    victim.kill('SIGKILL');
    await victim.exited();
    const whileDown = await victim.etcdProcesses();
    await sleep(1_000);
    await victim.start();
    const afterRestart = await victim.etcdProcesses();
    at(`berthd on ${victim.host.name} restarted`);

    await sleep(2_000);
    const partitioned: BerthdHost = await cluster.leader();
    at(`partition ${partitioned.host.name} (leader) from the other managers`);
    cluster.topology.partition(partitioned.host, cluster.peersOf(partitioned).map((peer) => peer.host));
    await sleep(6_000);
    cluster.topology.heal(partitioned.host);
    healedMs = monotonicClock.nowMs();
    at(`heal ${partitioned.host.name}`);
    return { orphanPid: orphan?.pid, whileDown: whileDown.map((p) => p.pid), afterRestart: afterRestart.map((p) => p.pid) };
  })().finally(() => { faultsDone = true; });
  const [summaries, adoption] = await Promise.all([workloads, faults]);
  t.comment(log.join('\n'));
  t.comment(`workloads: ${JSON.stringify(summaries)}`);

  t.same(adoption.whileDown, [adoption.orphanPid], 'the etcd member outlived its killed berthd');
  t.same(adoption.afterRestart, [adoption.orphanPid], 'the restarted berthd adopted it: still exactly one member process on the data dir');

  const history = await readHistoryFiles(clients.map((client) => client.config.historyFile));
  const result = checkHistory(history);
  if (!result.ok) t.comment(describeFailure(result));
  t.equal(result.outcome, 'linearizable', 'no stale read, no lost acknowledged write');
  const acknowledged = history.filter((op) => op.output.kind === 'ok' && op.input.kind !== 'get');
  t.ok(acknowledged.length >= 200, `enough acknowledged writes to mean something (${acknowledged.length} of ${history.length} operations)`);
  const afterHeal = history.filter((op: Operation) => op.callMs > healedMs && op.output.kind === 'ok');
  t.ok(afterHeal.length > 0, `the cluster served again after the partition healed (${afterHeal.length} operations)`);
  const first = cluster.managers[0];
  if (first === undefined) throw new Error('no manager');
  await waitFor('three healthy members', async () => (await first.hosts()).filter((host) => host.member?.healthy === true).length === 3);
  t.pass('all three members healthy at the end');
  for (const client of clients) await client.close();
});

t.test('the checker catches a broken mode: serializable reads from a partitioned member return stale values', async (t) => {
  const leader = await cluster.leader();
  const follower = cluster.managers.find((manager) => manager !== leader);
  if (follower === undefined) throw new Error('no follower');
  const others = cluster.managers.filter((manager) => manager !== follower).map((manager) => `https://${manager.host.address}:2379`);
  const followerEndpoint = [`https://${follower.host.address}:2379`];
  const writer = await cluster.kvClient(11, { endpoints: others });
  const broken = await cluster.kvClient(12, { endpoints: followerEndpoint, readConsistency: 'serializable', requestTimeoutMs: 1_000 });
  const sound = await cluster.kvClient(13, { endpoints: followerEndpoint, requestTimeoutMs: 1_000 });
  t.teardown(async () => { for (const client of [writer, broken, sound]) await client.close(); });

  const key = `broken-${Date.now()}`;
  t.equal(await writer.put(key, 'before'), 'ok');
  await waitFor('the follower has the first value', async () => {
    const read = await broken.get(key);
    return read !== 'unknown' && read.value === 'before';
  });
  cluster.topology.partition(follower.host, cluster.peersOf(follower).map((peer) => peer.host));
  try {
    t.equal(await writer.put(key, 'after'), 'ok', 'the majority acknowledges a new value');
    t.same(await broken.get(key), { value: 'before' }, 'the cut-off member serves the old value to a serializable read');
    t.equal(await sound.get(key), 'unknown', 'a linearizable read through the cut-off member times out instead');
  } finally {
    cluster.topology.heal(follower.host);
  }

  const withBroken = checkHistory(await readHistoryFiles([writer.config.historyFile, broken.config.historyFile]));
  t.equal(withBroken.outcome, 'not-linearizable', 'the checker rejects the serializable history');
  const report = describeFailure(withBroken);
  t.comment(report);
  t.match(report, new RegExp(`not linearizable on key "${key}"[\\s\\S]*get → "before"`), 'and names the stale read');
  const withSound = checkHistory(await readHistoryFiles([writer.config.historyFile, sound.config.historyFile]));
  t.equal(withSound.outcome, 'linearizable', 'the same scenario with linearizable reads passes');
});
