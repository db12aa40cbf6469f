import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  accessTable, certificateFingerprint, createNodeKeyAndCsr, fetchPinnedCa, keyspaceRoot, nodeRoleName, ownKey, postJoin, type AccessRow,
} from '@berth/secrets';
import { AttackerProcess, type Attempt, type AttemptResult } from '../../src/cluster/attacker.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import { TestCluster } from '../../src/cluster/test-cluster.js';

/**
 * A stolen worker identity against a real three-host cluster (managers m1 and m2, worker c1, each in its own network
 * namespace): every attempt beyond the worker's grant fails with a clear error and changes nothing. Certificates live
 * 30 s here so renewal happens during the run; then the worker is removed and refused at its next request.
 */
const validitySeconds = 30;
const cluster = await TestCluster.start(t, { managers: 2, managerArgs: ['--cert-validity-seconds', String(validitySeconds)] });
const [m1, m2] = cluster.managers as [BerthdHost, BerthdHost];
const worker = cluster.client;
const ids = { m1: await m1.nodeId(), m2: await m2.nodeId(), worker: await worker.nodeId() };
const files = (host: BerthdHost, cert = 'node.crt') => ({ caFile: join(host.root, 'cluster', 'ca.crt'), certFile: join(host.root, 'cluster', cert), keyFile: join(host.root, 'cluster', 'node.key') });
const workerCertificateAtStart = new X509Certificate(await readFile(files(worker).certFile));
const attacker = await AttackerProcess.start(worker.host.netns.path, { endpoints: cluster.endpoints, ...files(worker) });
const observer = await AttackerProcess.start(m1.host.netns.path, { endpoints: cluster.endpoints, ...files(m1, 'admin.crt') });
t.teardown(async () => { await attacker.close(); await observer.close(); });

const denied = /permission denied/;
const prefixEnd = (prefix: string) => `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;

/** The administrator's view, minus what churns by design (liveness leases, renewal's issued serials and expiry dates). */
async function snapshot(): Promise<unknown> {
  const result = (await observer.attempt([{ name: 'snapshot', op: 'snapshot', fresh: true }])).get('snapshot');
  if (result?.ok !== true) throw new Error(`snapshot failed: ${result?.error}`);
  const view = result.detail as { kvs: Array<{ key: string; value: string }>; members: unknown; users: unknown; roles: unknown };
  const kvs = view.kvs.filter((kv) => !/^\/berth\/v1\/cluster\/(alive|issued)\//.test(kv.key)).map((kv) => {
    if (!kv.key.startsWith(`${keyspaceRoot}cluster/hosts/`)) return kv;
    const { certificateExpiresAt: _, ...host } = JSON.parse(kv.value) as Record<string, unknown>;
    return { key: kv.key, value: JSON.stringify(host) };
  });
  return { ...view, kvs };
}

function expectDenied(t: Test, results: Map<string, AttemptResult>, name: string, pattern = denied): void {
  const result = results.get(name);
  t.equal(result?.ok, false, `${name}: refused`);
  t.match(result?.error, pattern, `${name}: ${result?.error ?? 'no error'}`);
}

function etcdctl(args: readonly string[], host: BerthdHost = worker): Promise<{ code: number; stdout: string; stderr: string }> {
  const f = files(host);
  return worker.host.netns.exec(['etcdctl', `--endpoints=${cluster.endpoints.join(',')}`, `--cacert=${f.caFile}`, `--cert=${f.certFile}`, `--key=${f.keyFile}`, '--dial-timeout=3s', '--command-timeout=3s', ...args]);
}

/** For each row: read the whole prefix, write and delete another node's part, read its own part. */
function rowAttempts(row: AccessRow): Attempt[] {
  const prefix = `${keyspaceRoot}${row.prefix}`;
  const others = row.workerOwn === 'none' ? `${prefix}escalation` : ownKey(row, ids.m2);
  const attempts: Attempt[] = [
    { name: `read ${row.prefix}`, op: 'range', key: prefix, rangeEnd: prefixEnd(prefix) },
    { name: `write ${row.prefix} as another node`, op: 'put', key: row.workerOwn === 'prefix' ? `${others}escalation` : others, value: '{"forged":true}' },
    { name: `delete ${row.prefix} of another node`, op: 'delete', key: others, ...(row.workerOwn === 'prefix' ? { rangeEnd: prefixEnd(others) } : {}) },
  ];
  if (row.workerOwn !== 'none') {
    const own = ownKey(row, ids.worker);
    attempts.push({ name: `read own ${row.prefix}`, op: 'range', key: own, ...(row.workerOwn === 'prefix' ? { rangeEnd: prefixEnd(own) } : {}) });
  }
  if (row.workerOwn === 'prefix') {
    // The grant holds both ways: a key of its own under its prefix can be written, then removed again.
    const own = `${ownKey(row, ids.worker)}escalation-own`;
    attempts.push({ name: `write own ${row.prefix}`, op: 'put', key: own, value: '{"own":true}' }, { name: `delete own ${row.prefix}`, op: 'delete', key: own });
  }
  return attempts;
}

t.test('a worker certificate: every forbidden read, write, delete, member, auth and lease call is refused, nothing changes', async (t) => {
  const before = await snapshot();
  const results = await attacker.attempt([
    ...accessTable.flatMap(rowAttempts),
    { name: 'read the whole Berth keyspace', op: 'range', key: keyspaceRoot, rangeEnd: prefixEnd(keyspaceRoot) },
    { name: 'read every key in etcd', op: 'range', key: '\0', rangeEnd: '\0' },
    { name: 'forge a manager join-token record', op: 'put', key: `${keyspaceRoot}cluster/join-tokens/manager`, value: JSON.stringify({ role: 'manager', secretHash: `sha256:${'0'.repeat(64)}`, sealedSecret: 'v1.x.y', createdAt: new Date().toISOString() }) },
    { name: "delete another host's record", op: 'delete', key: `${keyspaceRoot}cluster/hosts/${ids.m2}` },
    { name: "claim a manager's liveness key with its own lease", op: 'put', key: `${keyspaceRoot}cluster/alive/${ids.m1}`, value: '{}', ownLease: true },
    { name: "write under a manager's liveness lease", op: 'put', key: `${keyspaceRoot}cluster/alive/${ids.m2}`, value: '{}', leaseOfKey: `${keyspaceRoot}cluster/alive/${ids.m2}` },
    { name: "revoke a manager's liveness lease", op: 'leaseRevokeOfKey', key: `${keyspaceRoot}cluster/alive/${ids.m1}` },
    { name: 'add itself as an etcd member', op: 'memberAdd', peerUrl: `https://${worker.host.address}:2380` },
    { name: "remove a manager's etcd member", op: 'memberRemove', memberName: ids.m2 },
    { name: 'promote a member', op: 'memberPromote', memberName: ids.m2 },
    { name: 'grant itself the root role', op: 'userGrantRole', user: ids.worker, role: 'root' },
    { name: 'widen its own role to the whole keyspace', op: 'roleGrantPermission', role: nodeRoleName(ids.worker), key: keyspaceRoot, rangeEnd: prefixEnd(keyspaceRoot) },
    { name: 'turn etcd auth off', op: 'authDisable' },
    { name: "connect to a manager's peer port", op: 'tlsHandshake', host: m1.host.address, port: 2380 },
  ]);
  for (const row of accessTable) {
    const read = results.get(`read ${row.prefix}`);
    if (row.workerAll === 'read') t.equal(read?.ok, true, `read ${row.prefix}: granted (${read?.error ?? 'ok'})`);
    else expectDenied(t, results, `read ${row.prefix}`);
    expectDenied(t, results, `write ${row.prefix} as another node`);
    expectDenied(t, results, `delete ${row.prefix} of another node`);
    if (row.workerOwn !== 'none') t.equal(results.get(`read own ${row.prefix}`)?.ok, true, `read own ${row.prefix}: granted`);
    if (row.workerOwn === 'prefix') {
      t.equal(results.get(`write own ${row.prefix}`)?.ok, true, `write own ${row.prefix}: granted (${results.get(`write own ${row.prefix}`)?.error ?? 'ok'})`);
      t.equal(results.get(`delete own ${row.prefix}`)?.ok, true, `delete own ${row.prefix}: granted`);
    }
  }
  for (const name of ['read the whole Berth keyspace', 'read every key in etcd', 'forge a manager join-token record', "delete another host's record",
    "claim a manager's liveness key with its own lease", "write under a manager's liveness lease", "revoke a manager's liveness lease",
    'add itself as an etcd member', "remove a manager's etcd member", 'promote a member', 'grant itself the root role',
    'widen its own role to the whole keyspace', 'turn etcd auth off']) expectDenied(t, results, name);
  expectDenied(t, results, "connect to a manager's peer port", /bad certificate|alert|closed without an answer|ECONNRESET/);

  const control = await observer.attempt([{ name: 'admin reads everything', op: 'range', key: '\0', rangeEnd: '\0' }]);
  t.equal(control.get('admin reads everything')?.ok, true, 'the same calls work for an identity that holds the right (the refusals are about the worker)');
  const peer = await AttackerProcess.start(m2.host.netns.path, { endpoints: cluster.endpoints, ...files(m2) });
  const admitted = await peer.attempt([{ name: 'a manager at the peer port', op: 'tlsHandshake', host: m1.host.address, port: 2380 }]);
  await peer.close();
  t.equal(admitted.get('a manager at the peer port')?.ok, true, `a manager certificate is admitted at the same peer port (${String(admitted.get('a manager at the peer port')?.detail ?? admitted.get('a manager at the peer port')?.error)})`);

  const etcdctlAttempts: Array<[string, string[]]> = [
    ['forge a manager join-token record', ['put', `${keyspaceRoot}cluster/join-tokens/manager`, '{"role":"manager"}']],
    ['read the whole Berth keyspace', ['get', keyspaceRoot, '--prefix']],
    ['read secrets', ['get', `${keyspaceRoot}secrets/`, '--prefix']],
    ['read the join-token records', ['get', `${keyspaceRoot}cluster/join-tokens/`, '--prefix']],
    ["delete every host's record", ['del', `${keyspaceRoot}cluster/hosts/`, '--prefix']],
    ['add itself as an etcd member', ['member', 'add', 'evil', `--peer-urls=https://${worker.host.address}:2380`, '--learner']],
    ['grant itself the root role', ['user', 'grant-role', ids.worker, 'root']],
    ['widen its own role', ['role', 'grant-permission', nodeRoleName(ids.worker), 'readwrite', keyspaceRoot, '--prefix']],
    ['turn etcd auth off', ['auth', 'disable']],
  ];
  for (const [name, args] of etcdctlAttempts) {
    const result = await etcdctl(args);
    t.not(result.code, 0, `etcdctl, ${name}: non-zero exit`);
    t.match(result.stderr, denied, `etcdctl, ${name}: ${result.stderr.trim().split('\n')[0]}`);
  }
  const member = await etcdctl(['member', 'list']);
  t.equal(member.code, 0, 'etcdctl member list works for a worker (etcd 3.4 grants it to any client)');

  t.same(await snapshot(), before, 'nothing changed: keys, values, members, users and roles are as before');
});

t.test("a worker certificate serving TLS cannot pose as a manager's join endpoint: the joiner refuses before sending its token", async (t) => {
  const caPem = await readFile(files(worker).caFile, 'utf8');
  const received: string[] = [];
  const fake: Server = createServer({ key: await readFile(files(worker).keyFile), cert: await readFile(files(worker).certFile) }, (req, res) => {
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ caCertificatePem: caPem }));
      return;
    }
    req.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => fake.close(resolve)));
  const port = (fake.address() as AddressInfo).port;
  const caFingerprint = certificateFingerprint(caPem);
  const token = `BRTTKN-1-${caFingerprint}-${'5'.repeat(32)}`;
  const pinned = await fetchPinnedCa({ address: '127.0.0.1', port, caFingerprint, timeoutMs: 3_000 });
  t.equal(pinned.trim(), caPem.trim(), 'the impostor can serve the real CA (it is public), so pinning alone does not stop it');
  const { csrPem } = await createNodeKeyAndCsr();
  await t.rejects(postJoin({
    address: '127.0.0.1', port, caPem, timeoutMs: 3_000,
    request: { token, csrPem, addresses: ['127.0.0.1'], hostname: 'victim', etcdClientPort: 2379, etcdPeerPort: 2380 },
  }), /Join request to 127\.0\.0\.1:\d+ failed: .*(unsuitable certificate purpose|not a manager)/, 'the joiner refuses the worker certificate');
  t.same(received, [], 'the impostor never received the join request (and so never the token)');
});

t.test('a renewed certificate keeps the node working, across reconnects after the old one expired', async (t) => {
  const oldSerial = workerCertificateAtStart.serialNumber;
  const oldNotAfter = Date.parse(workerCertificateAtStart.validTo);
  const managerSerialAtStart = new X509Certificate(await readFile(files(m1).certFile)).serialNumber;
  await waitFor('the worker renews its certificate', async () => new X509Certificate(await readFile(files(worker).certFile)).serialNumber !== oldSerial, 40_000);
  const renewed = new X509Certificate(await readFile(files(worker).certFile));
  t.ok(Date.parse(renewed.validTo) > oldNotAfter, `the renewed certificate lives longer (${renewed.validTo} > ${workerCertificateAtStart.validTo})`);
  t.equal(renewed.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), workerCertificateAtStart.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), 'same key');

  // Cut the worker off until its first certificate has expired, so its store connections must be re-made with the
  // renewed one, then check it works again through its berthd.
  cluster.topology.partition(worker.host, cluster.managers.map((manager) => manager.host));
  try {
    await sleep(Math.max(8_000, oldNotAfter - Date.now() + 1_000));
  } finally {
    cluster.topology.heal(worker.host);
  }
  t.ok(Date.now() > oldNotAfter, 'the first certificate has expired');
  await waitFor("the worker's berthd works again", async () => (await worker.cli(['cluster', 'ls', '-o', 'json'])).code === 0, 20_000);
  await waitFor('the worker is alive again', async () => (await worker.hosts()).find((host) => host.nodeId === ids.worker)?.alive === true, 20_000);
  const fresh = await attacker.attempt([{ name: 'new connection with the renewed files', op: 'range', key: `${keyspaceRoot}cluster/info/cluster`, fresh: true }]);
  t.equal(fresh.get('new connection with the renewed files')?.ok, true, 'a new connection with the renewed certificate is served');

  const managerSerialNow = new X509Certificate(await readFile(files(m1).certFile)).serialNumber;
  t.not(managerSerialNow, managerSerialAtStart, 'the manager renewed its own certificate too');
  const served = await worker.host.netns.exec(['sh', '-c', `openssl s_client -connect ${m1.host.address}:2379 -CAfile ${files(m1).caFile} -cert ${files(m1).certFile} -key ${files(m1).keyFile} </dev/null 2>/dev/null | openssl x509 -noout -serial`]);
  const servedSerial = served.stdout.trim().replace(/^serial=/, '');
  const serialsSince = new Set([managerSerialNow, new X509Certificate(await readFile(files(m1).certFile)).serialNumber]);
  t.ok(serialsSince.has(servedSerial), `etcd on m1 serves the renewed certificate without a restart (${servedSerial})`);
});

t.test('a removed worker is refused at its next request, on open connections and new ones', async (t) => {
  const opened = await attacker.attempt([
    // one member, so "the next request" goes over the connection this read opens (etcd3 spreads calls over members)
    { name: 'reopen', op: 'reopen', endpoints: [`https://${m1.host.address}:2379`] },
    { name: 'a read before the removal', op: 'range', key: `${keyspaceRoot}cluster/info/cluster` },
  ]);
  t.equal(opened.get('a read before the removal')?.ok, true, 'the worker identity works until it is removed (connection now open)');
  const removed = await m1.cli(['cluster', 'rm', ids.worker]);
  t.equal(removed.code, 0, `berth cluster rm on a manager: ${removed.stderr}`);
  const results = await attacker.attempt([
    { name: 'next request on an open connection', op: 'range', key: `${keyspaceRoot}cluster/info/cluster` },
    { name: 'a new connection', op: 'range', key: `${keyspaceRoot}cluster/info/cluster`, fresh: true },
    { name: 'renewal at a manager', op: 'managerEndpoint', host: m1.host.address, port: 2377, path: '/v1/node/renew' },
  ]);
  expectDenied(t, results, 'next request on an open connection');
  expectDenied(t, results, 'a new connection', /UNAVAILABLE|No connection established|bad certificate|certificate revoked/);
  t.match(results.get('renewal at a manager')?.detail, { status: 403, body: /NODE_REVOKED/ }, 'the join endpoint checks the denylist');
  const viaEtcdctl = await etcdctl(['get', `${keyspaceRoot}cluster/info/cluster`]);
  t.not(viaEtcdctl.code, 0, `etcdctl with the revoked certificate fails: ${viaEtcdctl.stderr.trim().split('\n')[0]}`);
  const ls = await worker.cli(['cluster', 'ls']);
  t.equal(ls.code, 1, "the removed worker's own berthd is refused too");
  t.match(ls.stderr, /refused this host's identity/, ls.stderr.trim());
  const remaining = (await m1.hosts()).map((host) => host.nodeId).sort();
  t.same(remaining, [ids.m1, ids.m2].sort(), 'its host record is gone');
  const renewedSerial = new X509Certificate(await readFile(files(worker).certFile)).serialNumber;
  for (const manager of [m1, m2]) {
    const listed = async () => (await manager.host.netns.exec(['openssl', 'crl', '-in', join(manager.root, 'cluster', 'crl.pem'), '-noout', '-text'])).stdout.replace(/\s/g, '').toLowerCase().includes(renewedSerial.toLowerCase());
    await waitFor(`${manager.host.name}'s CRL lists the worker's serial`, listed, 10_000);
    t.pass(`${manager.host.name}'s CRL lists the worker's current serial (${manager === m1 ? 'where rm ran' : 'through its watch of the denylist'})`);
  }
});

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}
