import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createClusterCa, createNodeKeyAndCsr, issueNodeCertificate, newClusterId } from '@berth/secrets';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCluster } from '../../src/cluster/test-cluster.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import { scanForPlaintext } from '../../src/secrets/plaintext-scan.js';

/** Two managers (m1, m2) and a worker (c1), each a network namespace with its own berthd and (managers) etcd member. */
const cluster = await TestCluster.start(t, { managers: 2 });
const [m1, m2] = cluster.managers as [BerthdHost, BerthdHost];
const worker = cluster.client;

const known: Buffer[] = [];
const captured = new Map<string, string>();
function secretValue(label: string, bytes = 2048): string {
  const text = `${label}:${randomBytes(bytes).toString('hex')}`.slice(0, bytes);
  known.push(Buffer.from(text));
  return text;
}
const base64 = (text: string): string => Buffer.from(text).toString('base64');

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 20_000, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

async function cli(host: BerthdHost, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await host.cli(args, { timeoutMs: 60_000, ...(input === undefined ? {} : { stdin: input }) });
  captured.set(`${host.host.name}: berth ${args.join(' ')} #${captured.size}`, `${result.stdout}\n${result.stderr}`);
  return result;
}

async function api<T>(host: BerthdHost, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const answer = await host.api(method, path, body);
  captured.set(`${host.host.name}: ${method} ${path} #${captured.size}`, JSON.stringify(answer));
  return answer as T;
}

const fileOf = (host: BerthdHost, containerId: string, name: string): string => join(host.runDir, 'secrets', containerId, name);
const readOr = (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);

/** A request to a manager's join port from inside the worker's namespace, as the worker's berthd would send it. */
type Credentials = 'worker' | 'none' | { readonly certFile: string; readonly keyFile: string };

function fromWorker(manager: BerthdHost, path: string, body: unknown, credentials: Credentials): Promise<{ status: number; body: string }> {
  const files = credentials === 'worker' ? { certFile: join(worker.root, 'cluster', 'node.crt'), keyFile: join(worker.root, 'cluster', 'node.key') } : credentials === 'none' ? undefined : credentials;
  const tls = files === undefined ? [] : ['--cert', files.certFile, '--key', files.keyFile];
  const args = [`--net=${worker.host.netns.path}`, '--', 'curl', '-sS', '--max-time', '10', '--cacert', join(worker.root, 'cluster', 'ca.crt'), ...tls,
    '-H', 'content-type: application/json', '-d', JSON.stringify(body), '-w', '\n%{http_code}', `https://${manager.host.address}:2377${path}`];
  return new Promise((resolve) => {
    execFile('nsenter', args, (_error, stdout) => {
      const lines = stdout.trimEnd().split('\n');
      resolve({ status: Number(lines.pop()), body: lines.join('\n') });
    });
  });
}

/** Certificates an attacker might hold for the worker's node id: one from a foreign CA, one of this CA but expired. */
async function forgedCredentials(): Promise<{ foreign: Credentials; expired: Credentials }> {
  const nodeId = await worker.nodeId();
  const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
  const ca = { certificatePem: await readFile(join(m1.root, 'cluster', 'ca.crt'), 'utf8'), privateKeyPem: await readFile(join(m1.root, 'cluster', 'ca.key'), 'utf8') };
  const foreignCa = await createClusterCa({ clusterId: newClusterId() });
  const write = async (name: string, certificatePem: string): Promise<Credentials> => {
    const certFile = join(cluster.stateDir, `${name}.crt`);
    const keyFile = join(cluster.stateDir, `${name}.key`);
    await writeFile(certFile, certificatePem, { mode: 0o600 });
    await writeFile(keyFile, privateKeyPem, { mode: 0o600 });
    return { certFile, keyFile };
  };
  return {
    foreign: await write('foreign', await issueNodeCertificate({ ca: foreignCa, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: [worker.host.address] })),
    expired: await write('expired', await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: [worker.host.address], validitySeconds: 86_400, now: new Date(Date.now() - 5 * 86_400_000) })),
  };
}

t.test('create on one manager, grant, a container on the worker reads it; rotations on the other manager land whole; rollback; revoke', async (t) => {
  const v1 = secretValue('db-v1');
  t.same(await api(m1, 'POST', '/v1/secrets', { name: 'db', value: base64(v1), labels: { app: 'shop' } }), { name: 'db', version: 1 });
  await api(m1, 'POST', '/v1/secrets/db/grants', { service: 'web', target: 'db.conf', mode: 0o400 });
  const task = await api<{ secretsDir: string; secrets: string[] }>(worker, 'POST', '/v1/tasks', { containerId: 'w1', service: 'web', labels: {} });
  t.same(task.secrets, ['db.conf']);
  const file = fileOf(worker, 'w1', 'db.conf');
  t.equal(await readOr(file), v1, 'the worker container has the value when its registration returns');

  const written = new Set([v1]);
  let reads = 0;
  let mixed = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const seen = await readOr(file);
      reads += 1;
      if (seen === undefined || !written.has(seen)) mixed += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const landMs: number[] = [];
  for (let i = 0; i < 6; i += 1) {
    const next = secretValue(`db-r${i}`, 1024 * (1 + 50 * i));
    written.add(next);
    const answer = await api<{ version: number }>(i % 2 === 0 ? m2 : m1, 'POST', '/v1/secrets/db/rotate', { value: base64(next) });
    const returned = Date.now();
    t.equal(answer.version, i + 2);
    await waitFor(`rotation ${i} on the worker`, async () => (await readOr(file)) === next);
    landMs.push(Date.now() - returned);
  }
  reading = false;
  await reader;
  t.equal(mixed, 0, `${reads} reads on the worker during 6 rotations: each saw a whole old or new value`);
  t.comment(`rotate returned -> file in place on the worker: ${landMs.join(', ')} ms`);

  await api(m2, 'POST', '/v1/secrets/db/rollback', { to: 3 });
  await waitFor('rollback on the worker', async () => (await readOr(file)) === [...written][2]);
  t.pass('rollback to version 3 reached the worker');

  await api(m1, 'DELETE', '/v1/secrets/db/grants/web');
  await waitFor('revoked file gone on the worker', async () => (await readOr(file)) === undefined);
  t.ok(await stat(task.secretsDir), 'the container keeps its (empty) secrets tmpfs');
});

t.test('--node limits a grant; the worker cannot ask for what its host has no container for; workers do not serve secret commands', async (t) => {
  const [m1Id] = await Promise.all([m1.nodeId()]);
  const only = secretValue('only-m1');
  await api(m1, 'POST', '/v1/secrets', { name: 'only-m1', value: base64(only) });
  await api(m1, 'POST', '/v1/secrets/only-m1/grants', { service: 'web', nodes: [m1Id] });
  const onManager = await api<{ secrets: string[] }>(m1, 'POST', '/v1/tasks', { containerId: 'm1c', service: 'web', labels: {} });
  t.same(onManager.secrets, ['only-m1'], 'a container of web on m1 gets it');
  const onWorker = await api<{ secrets: string[] }>(worker, 'POST', '/v1/tasks', { containerId: 'w2', service: 'web', labels: {} });
  t.same(onWorker.secrets, [], 'a container of web on the worker does not (grant limited to m1)');

  const mine = await fromWorker(m2, '/v1/dispatch/assignments', { have: {}, containerIds: ['w2'], waitMs: 0 }, 'worker');
  t.equal(mine.status, 200, 'the worker may ask for its own container');
  t.notOk(mine.body.includes(base64(only)), 'and gets nothing it was not granted');
  const forged = await forgedCredentials();
  const cases: Array<[string, unknown, Credentials, number, RegExp]> = [
    ['a container of another host', { containerIds: ['m1c'] }, 'worker', 404, /not registered on node/],
    ['a container that does not exist', { containerIds: ['nope'] }, 'worker', 404, /not registered on node/],
    ['no client certificate', { containerIds: ['w2'] }, 'none', 403, /Certificate refused/],
    ['a certificate from another cluster\'s CA naming the worker', { containerIds: ['w2'] }, forged.foreign, 403, /Certificate refused/],
    ['an expired certificate of this cluster naming the worker', { containerIds: ['w2'] }, forged.expired, 403, /Certificate refused/],
    ['a hostile body', { have: 'x' }, 'worker', 400, /Invalid assignments request/],
  ];
  for (const [name, body, credentials, status, message] of cases) {
    const answer = await fromWorker(m1, '/v1/dispatch/assignments', body, credentials);
    t.equal(answer.status, status, `${name}: HTTP ${status}`);
    t.match(answer.body, message, `${name}: ${answer.body.slice(0, 160)}`);
    t.notOk(answer.body.includes(base64(only)), `${name}: nothing leaked`);
  }
  const refused = await cli(worker, ['secret', 'ls']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /is a worker; run this on a manager/, 'a worker says where to run secret commands');
  t.notOk(await stat(join(worker.root, 'cluster', 'cluster.key')).catch(() => undefined), 'the worker never received the cluster key');
  await api(m1, 'DELETE', '/v1/tasks/m1c');
  await api(m1, 'DELETE', '/v1/secrets/only-m1?force=true');
});

t.test('SIGKILL of the etcd leader during rotations: each is complete or absent, never half', async (t) => {
  await api(m1, 'POST', '/v1/secrets/db/grants', { service: 'web' });
  const before = await api<{ latest: number }>(m1, 'GET', '/v1/secrets/db');
  const leader = await cluster.leader();
  const [etcd] = await leader.etcdProcesses();
  if (etcd === undefined) throw new Error('leader has no etcd');
  const values = Array.from({ length: 6 }, (_, i) => secretValue(`kill-${i}`));
  const via = cluster.managers.find((manager) => manager !== leader) ?? m1;
  const outcomes = values.map(async (value, i) => {
    await sleep(i * 30);
    return via.api('POST', '/v1/secrets/db/rotate', { value: base64(value) }).then((answer) => ({ value, version: (answer as { version: number }).version }), (error: Error) => ({ value, error: error.message }));
  });
  await sleep(60);
  process.kill(etcd.pid, 'SIGKILL');
  const results = await Promise.all(outcomes);
  await waitFor('the killed member restarted', async () => (await leader.etcdProcesses()).some((p) => p.pid !== etcd.pid), 30_000, 100);
  t.comment(results.map((r) => ('version' in r ? `v${r.version}` : `error: ${r.error.slice(0, 80)}`)).join('; '));
  await waitFor('the cluster serves again', async () => (await via.api('GET', '/v1/secrets/db').then(() => true, () => false)), 30_000, 200);
  const after = await api<{ latest: number; versions: Array<{ version: number }> }>(via, 'GET', '/v1/secrets/db');
  const acked = results.filter((r): r is { value: string; version: number } => 'version' in r);
  for (const r of acked) t.ok(after.versions.some((v) => v.version === r.version), `acknowledged version ${r.version} is there`);
  const made = after.versions.filter((v) => v.version > before.latest).map((v) => v.version);
  t.ok(made.length >= acked.length && made.length <= values.length, `${made.length} new versions for ${acked.length} acknowledged of ${values.length} sent`);
  // every version that exists is whole: the worker gets exactly one of the values sent for it
  for (const version of made) {
    await api(via, 'POST', '/v1/secrets/db/rollback', { to: version });
    const expected = acked.find((r) => r.version === version)?.value;
    await waitFor(`version ${version} delivered`, async () => {
      const seen = await readOr(fileOf(worker, 'w2', 'db'));
      return seen !== undefined && (expected === undefined ? values.includes(seen) : seen === expected);
    });
  }
  t.pass(`each of versions ${made.join(', ')} opens and holds one value written for it`);
});

t.test('rotate-key under load loses nothing; autolock: a restarted manager serves nothing until unlocked, the worker is served by the other', async (t) => {
  const lastWritten = new Map<string, string>();
  for (let i = 0; i < 12; i += 1) {
    const value = secretValue(`bulk-${i}`, 64);
    await api(m1, 'POST', '/v1/secrets', { name: `bulk-${i}`, value: base64(value) });
    lastWritten.set(`bulk-${i}`, value);
  }
  let stop = false;
  const failures: string[] = [];
  const load = Promise.all([0, 1, 2].map(async (loop) => {
    let acknowledged = 0;
    for (let i = 0; !stop && i < 40; i += 1) {
      const name = `bulk-${loop * 4 + (i % 4)}`; // each loop its own secrets, so its last acknowledged write is the last one
      const value = secretValue(`${name}-load-${i}`, 64);
      try {
        await m2.api('POST', `/v1/secrets/${name}/rotate`, { value: base64(value) });
      } catch (error) {
        failures.push((error as Error).message);
        break;
      }
      lastWritten.set(name, value);
      acknowledged += 1;
    }
    return acknowledged;
  }));
  const rotated = await api<{ kekId: string; rewrapped: number; batches: number }>(m1, 'POST', '/v1/cluster/rotate-key', {});
  stop = true;
  const counts = await load;
  t.same(failures, [], 'no rotation failed during the key rotation');
  t.ok(rotated.rewrapped > 0, `rotate-key re-wrapped ${rotated.rewrapped} data keys in ${rotated.batches} transactions while ${counts.join('+')} rotations ran`);
  const keys = await api<{ kekId: string; rotation: unknown }>(m2, 'GET', '/v1/cluster/keys');
  t.same([keys.kekId, keys.rotation], [rotated.kekId, null], 'both managers on the new key, rotation finished');
  await api(m1, 'POST', '/v1/secrets/bulk-0/grants', { service: 'bulk' });
  await api(m1, 'POST', '/v1/secrets/bulk-5/grants', { service: 'bulk' });
  const bulkTask = await api<{ secrets: string[] }>(worker, 'POST', '/v1/tasks', { containerId: 'w3', service: 'bulk', labels: {} });
  t.same(bulkTask.secrets, ['bulk-0', 'bulk-5']);
  for (const name of ['bulk-0', 'bulk-5']) t.equal(await readOr(fileOf(worker, 'w3', name)), lastWritten.get(name), `${name}: the last acknowledged rotation is what is delivered`);
  const list = await api<Array<{ name: string; latest: number }>>(m1, 'GET', '/v1/secrets');
  const total = list.filter((s) => s.name.startsWith('bulk-')).reduce((sum, s) => sum + s.latest - 1, 0);
  t.equal(total, counts.reduce((a, b) => a + b, 0), 'every acknowledged rotation made exactly one version');

  const autolock = await cli(m1, ['cluster', 'update', '--autolock=true', '-o', 'json']);
  t.equal(autolock.code, 0, autolock.stderr);
  const unlockKey = (JSON.parse(autolock.stdout) as { unlockKey: string }).unlockKey;
  await waitFor('m2 dropped its disk copy', async () => (await stat(join(m2.root, 'cluster', 'cluster.key')).catch(() => undefined)) === undefined, 10_000, 50);
  m2.kill('SIGKILL');
  await m2.exited();
  await m2.start();
  const locked = await cli(m2, ['secret', 'ls']);
  t.equal(locked.code, 1);
  t.match(locked.stderr, /locked.*berth cluster unlock/, 'the restarted manager serves no secret');
  const rotatedWhileLocked = secretValue('while-m2-locked');
  await api(m1, 'POST', '/v1/secrets/bulk-0/rotate', { value: base64(rotatedWhileLocked) });
  await waitFor('the worker is served by the unlocked manager', async () => (await readOr(fileOf(worker, 'w3', 'bulk-0'))) === rotatedWhileLocked);
  t.pass('rotation reached the worker through m1 while m2 is locked');
  const wrong = await cli(m2, ['cluster', 'unlock'], `BRTULK-1-${'2'.repeat(64)}\n`);
  t.match(wrong.stderr, /rejected/, 'a wrong unlock key is refused');
  const unlocked = await cli(m2, ['cluster', 'unlock'], `${unlockKey}\n`);
  t.equal(unlocked.code, 0, unlocked.stderr);
  t.match(await api(m2, 'GET', '/v1/secrets/bulk-0'), { name: 'bulk-0' }, 'serves after unlock');
  const audit = await api<Array<{ action: string; node: string }>>(m1, 'GET', '/v1/cluster/audit');
  for (const action of ['key-rotate', 'key-rotate-done', 'autolock', 'unlock-refused', 'unlock']) t.ok(audit.some((entry) => entry.action === action), `audit: ${action}`);
});

t.test('deregistration unmounts; afterwards no secret value is anywhere on disk, in etcd, in logs or in captured output', async (t) => {
  for (const id of ['w1', 'w2', 'w3']) await api(worker, 'DELETE', `/v1/tasks/${id}`);
  t.same(await api(worker, 'GET', '/v1/tasks'), [], 'no tasks left');
  for (const id of ['w1', 'w2', 'w3']) t.notOk(await stat(join(worker.runDir, 'secrets', id)).catch(() => undefined), `${id}: tmpfs gone`);
  const hits = await scanForPlaintext({ roots: [cluster.stateDir], texts: captured, needles: known });
  t.same(hits, [], `${known.length} values searched in ${cluster.stateDir} (state, etcd data: WAL and snapshots, logs) and ${captured.size} captured outputs`);
});
