import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { etcdArguments, etcdTimingTuned, type EtcdMemberConfig } from '../../src/cluster/etcd-config.js';
import { EtcdMember, terminate } from '../../src/cluster/etcd-member.js';
import { etcdHealthy, waitForEtcdHealthy } from '../../src/cluster/etcd-probe.js';
import { findEtcdProcesses, findOwnEtcdProcesses, isAlive, isSameProcess, readProcess } from '../../src/cluster/process-table.js';
import { EtcdKvStore } from '../../src/store/etcd-kv-store.js';
import { toRevision } from '../../src/store/revision.js';
import { startLocalEtcdCluster } from '../helpers/local-etcd.js';

const execFileAsync = (file: string, args: readonly string[], options: { input: string }): Promise<void> => new Promise((resolve, reject) => {
  const child = execFile(file, [...args], (error) => (error === null ? resolve() : reject(error)));
  child.stdin?.end(options.input);
});

const baseConfig: EtcdMemberConfig = {
  name: 'm1', dataDir: '/var/lib/berth/etcd/data', advertiseAddress: '10.9.0.1', clientPort: 2379, peerPort: 2380,
  tls: { caFile: '/x/ca.crt', certFile: '/x/n.crt', keyFile: '/x/n.key', crlFile: '/x/crl.pem', peerAllowedName: 'manager.berth-abc' },
  initialCluster: [{ name: 'm1', peerUrl: 'https://10.9.0.1:2380' }], initialClusterState: 'new', clusterToken: 'berth-abc',
  timing: etcdTimingTuned, autoCompactionRetention: '1h', quotaBackendBytes: 2 ** 31, logFile: '/x/etcd.log', logLevel: 'warn',
};

t.test('the command line is mTLS-only with pre-vote, tuned timing, compaction and quota', async (t) => {
  const args = etcdArguments(baseConfig);
  t.ok(args.includes('--listen-client-urls=https://10.9.0.1:2379,https://127.0.0.1:2379'), 'client URL on the advertise address and loopback');
  for (const flag of ['--client-cert-auth=true', '--peer-client-cert-auth=true', '--pre-vote=true', '--heartbeat-interval=50', '--election-timeout=500',
    '--auto-compaction-retention=1h', `--quota-backend-bytes=${2 ** 31}`, '--trusted-ca-file=/x/ca.crt', '--peer-trusted-ca-file=/x/ca.crt',
    '--client-crl-file=/x/crl.pem', '--peer-crl-file=/x/crl.pem', '--peer-cert-allowed-hostname=manager.berth-abc']) {
    t.ok(args.includes(flag), flag);
  }
  t.notOk(args.some((arg) => arg.includes('http://')), 'no plaintext URL');
});

t.test('configurations etcd would reject are refused up front', async (t) => {
  const bad: Array<[string, Partial<EtcdMemberConfig>]> = [
    ['election below 5 heartbeats', { timing: { heartbeatIntervalMs: 100, electionTimeoutMs: 400 } }],
    ['relative data dir', { dataDir: 'etcd' }],
    ['hostname as advertise address', { advertiseAddress: 'node1' }],
    ['same ports', { peerPort: 2379 }],
    ['member not in initial cluster', { initialCluster: [{ name: 'm2', peerUrl: 'https://10.9.0.2:2380' }] }],
    ['plaintext peer', { initialCluster: [{ name: 'm1', peerUrl: 'http://10.9.0.1:2380' }] }],
    ['flag injection in name', { name: 'm1 --force-new-cluster' }],
  ];
  for (const [name, patch] of bad) t.throws(() => etcdArguments({ ...baseConfig, ...patch }), { code: 'REQUEST_INVALID' }, name);
});

t.test('a supervised member: restart after SIGKILL, adopt an orphan, replace a mismatched one, never two', async (t) => {
  const cluster = await startLocalEtcdCluster(t, { size: 1 });
  const local = cluster.members[0];
  if (local === undefined) throw new Error('no member');
  const firstPid = local.member.pid ?? -1;
  t.ok(await etcdHealthy(local.clientUrl, cluster.clientTls), 'healthy over mTLS');
  t.equal(Number((await readFile(local.pidFile, 'utf8')).trim()), firstPid, 'pid file names the member');

  process.kill(firstPid, 'SIGKILL');
  await waitFor(() => local.member.pid !== undefined && local.member.pid !== firstPid, 10_000);
  await waitForEtcdHealthy(local.clientUrl, cluster.clientTls, { timeoutMs: 15_000 });
  t.ok(local.events.some((e) => e.kind === 'exited' && e.pid === firstPid && e.signal === 'SIGKILL'), 'exit seen');
  t.equal(local.member.restartsTotal, 1, 'restarted once');

  // berthd killed: the supervisor is gone, etcd lives on; a new supervisor adopts it.
  const orphanPid = local.member.pid ?? -1;
  local.member.abandon();
  const adopter = cluster.resupervise(local);
  const adopted = await adopter.start();
  t.same(adopted, { pid: orphanPid, adopted: true }, 'the orphan is adopted, not doubled');
  t.equal((await findEtcdProcesses(local.config.dataDir)).length, 1, 'one process on the data dir');
  // an adopted member that dies is restarted too (noticed by polling /proc)
  process.kill(orphanPid, 'SIGKILL');
  await waitFor(() => adopter.pid !== undefined && adopter.pid !== orphanPid, 10_000);
  t.equal((await findEtcdProcesses(local.config.dataDir)).length, 1, 'still exactly one after restart of an adopted member');
  await waitForEtcdHealthy(local.clientUrl, cluster.clientTls, { timeoutMs: 15_000 });

  // a supervisor with different settings must replace the running member, not run beside it
  const runningPid = adopter.pid ?? -1;
  adopter.abandon();
  const changed = new EtcdMember({ config: { ...local.config, timing: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 } }, pidFile: local.pidFile });
  local.member = changed;
  const replaced = await changed.start();
  t.equal(replaced.adopted, false);
  t.notOk(isAlive(runningPid) && (await findEtcdProcesses(local.config.dataDir)).some((p) => p.pid === runningPid), 'the mismatched member was stopped');
  t.equal((await findEtcdProcesses(local.config.dataDir)).length, 1, 'one process on the data dir');
  await waitForEtcdHealthy(local.clientUrl, cluster.clientTls, { timeoutMs: 15_000 });

  const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls: cluster.clientTls });
  t.teardown(() => store.close());
  const written = await store.txn([], [{ kind: 'put', key: '/t/k', value: Buffer.from('v') }]);
  t.equal((await store.get('/t/k')).kv?.modRevision, written.revision, 'data survived kills and restarts');

  await changed.stop();
  t.equal((await findEtcdProcesses(local.config.dataDir)).length, 0, 'stop leaves no process');
});

t.test('a client certificate from another CA is refused by etcd', async (t) => {
  const cluster = await startLocalEtcdCluster(t, { size: 1 });
  const other = await startLocalEtcdCluster(t, { size: 1 });
  const foreign = await other.issueTls('manager');
  const url = cluster.members[0]?.clientUrl ?? '';
  t.notOk(await etcdHealthy(url, { ...foreign, caPem: cluster.ca.certificatePem }), 'foreign client cert gets no answer');
  const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls: { ...foreign, caPem: cluster.ca.certificatePem }, limits: { readAttemptsMax: 1, requestTimeoutMs: 1_000 } });
  t.teardown(() => store.close());
  await t.rejects(store.get('/x'), { code: 'STORE_UNAVAILABLE' });
});

t.test('a write no member could be sent to is refused as not applied, after waiting out the breakers', async (t) => {
  const cluster = await startLocalEtcdCluster(t, { size: 1 });
  const local = cluster.members[0];
  if (local === undefined) throw new Error('no member');
  const tls = await cluster.issueTls('manager');
  const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls, limits: { requestTimeoutMs: 1_500 } });
  t.teardown(() => store.close());
  await store.txn([], [{ kind: 'put', key: '/k', value: Buffer.from('1') }]);
  await local.member.stop();
  const started = Date.now();
  await t.rejects(store.txn([], [{ kind: 'put', key: '/k', value: Buffer.from('2') }]), { code: 'STORE_UNAVAILABLE', message: /nothing was applied/ });
  t.ok(Date.now() - started >= 1_000, 'retried over the deadline rather than failing at once');
  const readStarted = Date.now();
  await t.rejects(store.get('/k'), { code: 'STORE_UNAVAILABLE' });
  t.ok(Date.now() - readStarted >= 1_000, 'a read no member was sent to is retried over the deadline too (past the breakers\' open window)');
});

t.test('closing a store whose member is gone does not wait on its watches forever', async (t) => {
  const cluster = await startLocalEtcdCluster(t, { size: 1 });
  const local = cluster.members[0];
  if (local === undefined) throw new Error('no member');
  const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls: await cluster.issueTls('manager') });
  const events: number[] = [];
  store.watch('/w/', { fromRevision: toRevision(1), onEvents: (batch) => { events.push(batch.length); }, onResync: () => undefined });
  await store.txn([], [{ kind: 'put', key: '/w/a', value: Buffer.from('1') }]);
  await waitFor(() => events.length > 0, 10_000);
  await local.member.stop();
  await sleep(500);
  await store.close();
  t.pass('closed');
});

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !predicate(); await sleep(50)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
  }
}

t.test('an unrelated process called etcd with the exact command line is never adopted, nor signalled', async (t) => {
  const cluster = await startLocalEtcdCluster(t, { size: 1 });
  const local = cluster.members[0];
  if (local === undefined) throw new Error('no member');
  await local.member.stop();
  // A harmless program (it only waits) installed as `etcd` elsewhere, started with argv[0] /usr/bin/etcd and the
  // member's own arguments: by name and command line it is indistinguishable from the member.
  const dir = await mkdtemp(join(tmpdir(), 'bt-impostor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const binary = join(dir, 'etcd');
  await execFileAsync('cc', ['-x', 'c', '-o', binary, '-'], { input: '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' });
  const impostor = spawn(binary, etcdArguments(local.config), { argv0: '/usr/bin/etcd', stdio: 'ignore', detached: true });
  t.teardown(() => { impostor.kill('SIGKILL'); });
  await new Promise((resolve) => impostor.once('spawn', resolve));
  const seen = await findEtcdProcesses(local.config.dataDir);
  t.same(seen.map((p) => p.pid), [impostor.pid], 'by name and argv alone it looks like our member');
  t.equal(seen[0]?.exe, binary, 'but /proc/PID/exe names another binary');

  const supervisor = cluster.resupervise(local);
  const started = await supervisor.start();
  t.equal(started.adopted, false, 'not adopted');
  t.not(started.pid, impostor.pid, 'a real member was started instead');
  t.ok(isAlive(impostor.pid ?? -1) && impostor.exitCode === null, 'and the impostor was not signalled');
  t.same((await findOwnEtcdProcesses(local.config.dataDir, '/usr/bin/etcd')).map((p) => p.pid), [started.pid], 'exactly one real member on the data dir');
  await waitForEtcdHealthy(local.clientUrl, cluster.clientTls, { timeoutMs: 15_000 });
  await supervisor.stop();
  t.ok(impostor.exitCode === null && isAlive(impostor.pid ?? -1), 'stopping the member leaves the impostor alone too');
});

t.test('terminate re-checks who the pid is right before signalling: a reused pid is never signalled', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => { child.kill('SIGKILL'); });
  await new Promise((resolve) => child.once('spawn', resolve));
  const entry = await readProcess(child.pid ?? -1);
  if (entry === undefined) throw new Error('no sleep process');
  await terminate({ pid: entry.pid, startTime: `${entry.startTime}0` }, 1_000);
  t.ok(isAlive(entry.pid) && child.exitCode === null, 'a process with another start time is left alone');
  await terminate(entry, 5_000);
  t.notOk(await isSameProcess(entry), 'the same process (pid and start time) is stopped');
});
