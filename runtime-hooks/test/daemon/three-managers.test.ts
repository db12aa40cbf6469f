import t from 'tap';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findEtcdProcesses } from '@berth/secrets';
import { makeHosts, waitFor, type BerthdHandle } from './helpers.js';

interface Listing {
  hosts: Array<{ nodeId: string; role: string; alive: boolean; self: boolean; member?: { healthy: boolean; leader: boolean; learner: boolean } }>;
  otherMembers: unknown[];
}

async function listing(host: BerthdHandle): Promise<Listing> {
  return await host.api('GET', '/v1/cluster') as Listing;
}

t.test('three managers and a worker: init, join, rotate, leave (member removed first), last manager guarded', async (t) => {
  const hosts = await makeHosts(t);
  const [a, b, c, w] = await Promise.all(['a', 'b', 'c', 'w'].map((name) => hosts.add(name)));
  if (a === undefined || b === undefined || c === undefined || w === undefined) throw new Error('hosts');
  await Promise.all([a, b, c, w].map((host) => host.start()));

  const init = JSON.parse((await a.cli(['cluster', 'init', '-o', 'json'])).stdout) as { workerToken: string; clusterId: string };
  const managerToken = (await a.cli(['cluster', 'join-token', 'manager', '-q'])).stdout.trim();
  for (const host of [b, c]) {
    const joined = await host.join(managerToken, a.joinAddress, ['-o', 'json']);
    t.equal(joined.code, 0, `${host.name} joined as manager: ${joined.stderr}`);
    t.match(JSON.parse(joined.stdout), { clusterId: init.clusterId, role: 'manager' });
  }
  const worker = await w.join(init.workerToken, b.joinAddress, ['-o', 'json']);
  t.equal(worker.code, 0, `worker joined through another manager: ${worker.stderr}`);
  t.match(JSON.parse(worker.stdout), { role: 'worker' });
  t.notOk(await stat(join(w.root, 'cluster', 'ca.key')).then(() => true, () => false), 'the worker never received the CA key');
  t.ok(await stat(join(b.root, 'cluster', 'ca.key')).then(() => true, () => false), 'managers hold the CA key');
  t.same(await findEtcdProcesses(join(w.root, 'etcd', 'data')), [], 'the worker runs no etcd member');

  await waitFor('all alive', async () => (await listing(a)).hosts.filter((h) => h.alive).length === 4);
  const full = await listing(c);
  t.equal(full.hosts.length, 4);
  t.equal(full.hosts.filter((h) => h.role === 'manager' && h.member?.healthy === true && h.member.learner === false).length, 3, 'three healthy voting members');
  t.equal(full.hosts.filter((h) => h.member?.leader === true).length, 1, 'one leader');
  t.same(full.otherMembers, [], 'no stray member');

  // a token rotated on one manager is printed identically by another, and the old one is refused
  const rotated = (await b.cli(['cluster', 'join-token', 'worker', '--rotate', '-q'])).stdout.trim();
  t.not(rotated, init.workerToken);
  t.equal((await c.cli(['cluster', 'join-token', 'worker', '-q'])).stdout.trim(), rotated, 'another manager prints the rotated token');
  const workerRefused = await w.cli(['cluster', 'join-token', 'worker']);
  t.match(workerRefused.stderr, /is a worker; run this on a manager/, 'a worker cannot print tokens');

  const left = await c.cli(['cluster', 'leave']);
  t.equal(left.code, 0, left.stderr);
  t.same(await findEtcdProcesses(join(c.root, 'etcd', 'data')), [], "the leaving manager's etcd stopped");
  t.notOk(await stat(join(c.root, 'cluster')).then(() => true, () => false), 'its cluster state is gone');
  const afterLeave = await listing(a);
  t.equal(afterLeave.hosts.length, 3);
  t.same(afterLeave.otherMembers, [], 'its etcd member was removed');
  const workerLeft = await w.cli(['cluster', 'leave']);
  t.equal(workerLeft.code, 0, `worker leaves: ${workerLeft.stderr}`);
  const ids = Object.fromEntries((await listing(a)).hosts.map((host) => [host.self ? 'a' : 'b', host.nodeId])) as { a: string; b: string };
  t.match((await a.cli(['cluster', 'rm', ids.a])).stderr, /is this host: use `berth cluster leave`/, 'rm refuses this host');
  t.match((await a.cli(['cluster', 'rm', 'n000000000000'])).stderr, /No node n000000000000/, 'rm of an unknown node is a clear error');
  const removed = await a.cli(['cluster', 'rm', ids.b, '-o', 'json']);
  t.equal(removed.code, 0, `a manager removes another manager: ${removed.stderr}`);
  t.same(JSON.parse(removed.stdout), { nodeId: ids.b, role: 'manager' });
  const afterRm = await listing(a);
  t.same(afterRm.hosts.map((host) => host.nodeId), [ids.a], 'its host record is gone');
  t.same(afterRm.otherMembers, [], 'its etcd member was removed');
  const cleanup = await b.cli(['cluster', 'leave', '--force']);
  t.equal(cleanup.code, 0, `the removed manager cleans up with leave --force: ${cleanup.stderr}`);
  if (cleanup.code !== 0) t.comment(await b.logTail(80));
  const last = await a.cli(['cluster', 'leave']);
  t.equal(last.code, 1);
  t.match(last.stderr, /last manager.*--force/);
  const remaining = await listing(a);
  t.equal(remaining.hosts.length, 1, `refused leave changed nothing: ${JSON.stringify(remaining)}`);
  t.equal((await a.cli(['cluster', 'leave', '--force'])).code, 0, 'forced');
  t.same(await a.api('GET', '/healthz'), { status: 'ok', cluster: 'none', etcd: 'none' });
  const rejoin = await c.cli(['cluster', 'init', '-o', 'json']);
  t.equal(rejoin.code, 0, `a host that left can start a new cluster: ${rejoin.stderr}`);
});
