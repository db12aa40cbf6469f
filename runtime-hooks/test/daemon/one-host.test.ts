import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findEtcdProcesses } from '@berth/secrets';
import { berthBin, makeHosts, waitFor } from './helpers.js';

t.test('one host: init, ls, health, metrics, join-token; SIGKILL and restart adopt the etcd member; SIGTERM stops everything', async (t) => {
  const hosts = await makeHosts(t);
  const host = await hosts.add('solo');
  await host.start();
  const socketMode = (await stat(host.socket)).mode & 0o777;
  t.equal(socketMode, 0o600, 'socket is 0600');

  t.same(await host.api('GET', '/healthz'), { status: 'ok', cluster: 'none', etcd: 'none' });
  const ls0 = await host.cli(['cluster', 'ls']);
  t.equal(ls0.code, 1);
  t.match(ls0.stderr, /not in a cluster/, 'ls before init is a clear error');

  const init = await host.cli(['cluster', 'init', '--output', 'json']);
  t.equal(init.code, 0, init.stderr);
  const result = JSON.parse(init.stdout) as { clusterId: string; nodeId: string; workerToken: string };
  t.match(result.workerToken, /^BRTTKN-1-[0-9a-f]{64}-[0-9a-f]{32}$/);
  t.same(Object.keys(result).sort(), ['clusterId', 'nodeId', 'workerToken'], 'init shows the worker token only');
  const again = await host.cli(['cluster', 'init']);
  t.equal(again.code, 1);
  t.match(again.stderr, /already in cluster/);

  const ls = JSON.parse((await host.cli(['cluster', 'ls', '-o', 'json'])).stdout) as { hosts: Array<{ nodeId: string; role: string; alive: boolean; certificateExpiresAt?: string; member?: { healthy: boolean; leader: boolean } }> };
  t.equal(ls.hosts.length, 1);
  t.match(ls.hosts[0], { nodeId: result.nodeId, role: 'manager', member: { healthy: true, leader: true } });
  await waitFor('liveness lease', async () => ((JSON.parse((await host.cli(['cluster', 'ls', '-o', 'json'])).stdout) as typeof ls).hosts[0]?.alive ?? false));
  const table = await host.cli(['cluster', 'ls']);
  t.match(table.stdout, /NODE\s+HOSTNAME\s+ROLE\s+ADDRESS\s+ALIVE\s+ETCD\s+LEADER\s+TERM\s+INDEX\s+CERT EXPIRES/);
  const expires = Date.parse(ls.hosts[0]?.certificateExpiresAt ?? '');
  t.ok(Math.abs(expires - Date.now() - 90 * 86_400_000) < 3_600_000, `the node certificate lives 90 days by default (${ls.hosts[0]?.certificateExpiresAt})`);

  const shown = await host.cli(['cluster', 'join-token', 'worker', '-q']);
  t.equal(shown.stdout.trim(), result.workerToken, 'join-token prints the current token again');
  const human = await host.cli(['cluster', 'join-token', 'manager']);
  const managerToken = (await host.cli(['cluster', 'join-token', 'manager', '-q'])).stdout.trim();
  t.not(managerToken, result.workerToken);
  t.ok(human.stdout.includes(managerToken), 'join-token manager prints the manager token on request');
  t.match(human.stdout, new RegExp(`berth cluster join --token-file \\S+ 127\\.0\\.0\\.1:${host.ports.join}`), 'and a join command that keeps it out of argv');

  const metrics = await fetchMetrics(host.socket);
  for (const line of ['berth_up 1', 'berth_cluster_active{role="manager"} 1', 'berth_etcd_member_healthy 1', 'berth_etcd_is_leader 1', 'berth_cluster_hosts 1']) {
    t.ok(metrics.includes(line), line);
  }
  t.match(metrics, /berth_etcd_raft_term \d+/);
  t.match(metrics, /berth_store_ops_total\{op="[a-z]+"\} \d+/);
  t.notOk(metrics.includes(result.workerToken.slice(-32)), 'no token secret in metrics');
  const log = await readFile(join(hosts.base, 'solo.log'), 'utf8');
  t.notOk(log.includes(result.workerToken.slice(-32)) || log.includes(managerToken.slice(-32)) || log.includes('PRIVATE KEY'), 'no token or key in the berthd log');

  const dataDir = join(host.root, 'etcd', 'data');
  const [etcdBefore] = await findEtcdProcesses(dataDir);
  t.ok(etcdBefore !== undefined, 'etcd member running');
  host.process.kill('SIGKILL');
  await host.exited();
  t.equal((await findEtcdProcesses(dataDir)).length, 1, 'the orphaned member keeps running after berthd is killed');
  await host.start();
  const after = await findEtcdProcesses(dataDir);
  t.same(after.map((p) => p.pid), [etcdBefore?.pid], 'the restarted berthd adopted the same etcd process');
  const lsAfter = JSON.parse((await host.cli(['cluster', 'ls', '-o', 'json'])).stdout) as typeof ls;
  t.match(lsAfter.hosts[0], { nodeId: result.nodeId, member: { healthy: true } }, 'cluster state survived');

  host.process.kill('SIGTERM');
  const exit = await host.exited();
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: clean exit 0');
  t.same(await findEtcdProcesses(dataDir), [], 'SIGTERM stopped the etcd member too');
  await t.rejects(stat(host.socket), { code: 'ENOENT' }, 'socket removed');
});

function fetchMetrics(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--unix-socket', socket, 'http://berthd/metrics'], (error, stdout) => (error === null ? resolve(stdout) : reject(error)));
  });
}
void berthBin;
