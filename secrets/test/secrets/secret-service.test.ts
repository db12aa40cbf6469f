import t from 'tap';
import { readFile } from 'node:fs/promises';
import { clusterKeyFile } from '../../src/secrets/cluster-key-file.js';
import { rotateClusterKey } from '../../src/secrets/key-rotation.js';
import { secretBytesMax } from '../../src/secrets/names.js';
import { hostsCollection } from '../../src/cluster/keys.js';
import { readAudit } from '../../src/secrets/audit.js';
import { keyringCollection, keyringId, tasksCollection, versionKeyCollection, versionValueCollection } from '../../src/secrets/schema.js';
import { makeCluster } from './helpers.js';

const text = (value: string): Uint8Array => new Uint8Array(Buffer.from(value));
const reveal = async (service: { reveal(name: string, version: number): Promise<Uint8Array> }, name: string, version: number): Promise<string> => Buffer.from(await service.reveal(name, version)).toString();

t.test('create, rotate, rollback, grant, revoke, rm: versions, current pointer, audit; nothing in clear in the store', async (t) => {
  const cluster = await makeCluster(t);
  const { service, actor } = await cluster.manager('m1');
  t.same(await service.create({ name: 'db.password', value: text('hunter2-first'), labels: { team: 'a' }, actor }), { name: 'db.password', version: 1 });
  await t.rejects(service.create({ name: 'db.password', value: text('again'), actor }), { code: 'SECRET_EXISTS' });
  t.same(await service.rotate({ name: 'db.password', value: text('hunter2-second'), actor }), { name: 'db.password', version: 2 });
  t.equal(await reveal(service, 'db.password', 1), 'hunter2-first');
  t.equal(await reveal(service, 'db.password', 2), 'hunter2-second');
  t.same(await service.rollback({ name: 'db.password', actor }), { name: 'db.password', version: 1, from: 2 });
  t.match(await service.inspect('db.password'), { current: 1, latest: 2, labels: { team: 'a' } });
  t.same(await service.rotate({ name: 'db.password', value: text('hunter2-third'), actor }), { name: 'db.password', version: 3 }, 'a rotation after a rollback makes a new version');
  await t.rejects(service.rollback({ name: 'db.password', to: 9, actor }), { code: 'SECRET_VERSION_NOT_FOUND' });
  await service.rollback({ name: 'db.password', to: 2, actor });

  const grant = await service.grant({ name: 'db.password', service: 'web', options: { target: 'db', uid: 1000, gid: 1000, mode: 0o440 }, actor });
  t.match(grant, { secret: 'db.password', service: 'web', target: 'db', uid: 1000, mode: 0o440, nodes: [] });
  await t.rejects(service.revoke({ name: 'db.password', service: 'api', actor }), { code: 'GRANT_NOT_FOUND', message: /not granted to service api/ });
  await service.revoke({ name: 'db.password', service: 'web', actor });

  const history = await service.history('db.password');
  t.same(history.map((entry) => [entry.action, entry.version ?? null, entry.service ?? null]), [
    ['create', 1, null], ['rotate', 2, null], ['rollback', 1, null], ['rotate', 3, null], ['rollback', 2, null], ['grant', null, 'web'], ['revoke', null, 'web'],
  ]);
  t.ok(history.every((entry) => entry.node === 'm1' && entry.uid === 0), 'who: node and uid');

  const { kvs } = await cluster.kv.list('/berth/v1/');
  const dump = Buffer.concat(kvs.map((kv) => Buffer.concat([Buffer.from(kv.key), kv.value]))).toString('latin1');
  t.notOk(/hunter2/.test(dump), 'no plaintext anywhere in the store');

  await service.remove({ name: 'db.password', force: false, actor });
  await t.rejects(service.inspect('db.password'), { code: 'SECRET_NOT_FOUND' });
  t.same((await cluster.store.list(versionValueCollection)).entries, [], 'every version removed');
  t.equal((await service.history('db.password')).at(-1)?.action, 'rm', 'the history outlives the secret');
});

t.test('bad input: clear errors, nothing stored', async (t) => {
  const cluster = await makeCluster(t);
  const { service, actor } = await cluster.manager('m1');
  const before = (await cluster.kv.list('/berth/v1/')).kvs.length;
  const cases: Array<[string, () => Promise<unknown>, string, RegExp]> = [
    ['oversize', () => service.create({ name: 'big', value: new Uint8Array(secretBytesMax + 1), actor }), 'SECRET_TOO_LARGE', /larger than the limit of 512000 bytes/],
    ['empty', () => service.create({ name: 'empty', value: new Uint8Array(0), actor }), 'SECRET_INVALID', /empty/],
    ['bad name', () => service.create({ name: '../etc', value: text('x'), actor }), 'SECRET_INVALID', /Invalid secret name/],
    ['long name', () => service.create({ name: 'a'.repeat(65), value: text('x'), actor }), 'SECRET_INVALID', /Invalid secret name/],
    ['bad label', () => service.create({ name: 'ok', value: text('x'), labels: { 'bad key!': 'v' }, actor }), 'SECRET_INVALID', /label key/],
    ['unknown secret rotate', () => service.rotate({ name: 'nope', value: text('x'), actor }), 'SECRET_NOT_FOUND', /Secret nope not found/],
    ['unknown secret grant', () => service.grant({ name: 'nope', service: 'web', actor }), 'SECRET_NOT_FOUND', /not found/],
    ['bad service', () => service.grant({ name: 'nope', service: 'we b', actor }), 'SECRET_INVALID', /Invalid service name/],
    ['bad target', () => service.grant({ name: 'nope', service: 'web', options: { target: '..data' }, actor }), 'SECRET_INVALID', /Invalid target/],
    ['writable mode', () => service.grant({ name: 'nope', service: 'web', options: { mode: 0o666 }, actor }), 'SECRET_INVALID', /writable/],
    ['unknown secret revoke', () => service.revoke({ name: 'nope', service: 'web', actor }), 'SECRET_NOT_FOUND', /not found/],
    ['unknown secret rm', () => service.remove({ name: 'nope', force: false, actor }), 'SECRET_NOT_FOUND', /not found/],
  ];
  for (const [name, call, code, message] of cases) await t.rejects(call(), { code, message }, name);
  t.equal((await cluster.kv.list('/berth/v1/')).kvs.length, before, 'nothing stored');
});

t.test('parallel rotations on two managers serialise: every version exists once, none is lost', async (t) => {
  const cluster = await makeCluster(t);
  const m1 = await cluster.manager('m1');
  const m2 = await cluster.manager('m2', m1);
  await m1.service.create({ name: 'token', value: text('v1'), actor: m1.actor });
  const values = Array.from({ length: 24 }, (_, i) => `value-${i}`);
  const results = await Promise.all(values.map((value, i) => (i % 2 === 0 ? m1 : m2).service.rotate({ name: 'token', value: text(value), actor: m1.actor })));
  const versions = results.map((result) => result.version).sort((a, b) => a - b);
  t.same(versions, Array.from({ length: 24 }, (_, i) => i + 2), 'versions 2..25, each once');
  for (const [i, result] of results.entries()) t.equal(await reveal(m1.service, 'token', result.version), values[i], `version ${result.version} holds what its rotation wrote`);
});

t.test('rm is refused while a running container of a granted service gets the secret, unless forced', async (t) => {
  const cluster = await makeCluster(t);
  const { service, actor } = await cluster.manager('m1');
  await service.create({ name: 'api-key', value: text('k'), actor });
  await service.grant({ name: 'api-key', service: 'web', actor });
  await cluster.store.put(hostsCollection, 'n1', { nodeId: 'n1', hostname: 'h1', role: 'worker', addresses: ['10.0.0.2'], joinPort: 2377, joinedAt: new Date().toISOString() });
  await cluster.store.put(tasksCollection('n1'), 'c1', { containerId: 'c1', service: 'web', labels: {}, nodeId: 'n1', registeredAt: new Date().toISOString() });
  await cluster.store.put(tasksCollection('gone'), 'c2', { containerId: 'c2', service: 'web', labels: {}, nodeId: 'gone', registeredAt: new Date().toISOString() });
  await t.rejects(service.remove({ name: 'api-key', force: false, actor }), { code: 'SECRET_IN_USE', message: /1 running container\(s\) of service web.*--force/ }, 'a task of a host that left does not count');
  t.ok(await service.inspect('api-key'), 'still there');
  await service.remove({ name: 'api-key', force: true, actor });
  await t.rejects(service.inspect('api-key'), { code: 'SECRET_NOT_FOUND' });
});

t.test('rotate-key re-wraps every data key in batches, while rotations go on; a crash mid-way resumes', async (t) => {
  const cluster = await makeCluster(t);
  const m1 = await cluster.manager('m1');
  const m2 = await cluster.manager('m2', m1);
  for (let i = 0; i < 30; i += 1) await m1.service.create({ name: `s${i}`, value: text(`secret-${i}`), actor: m1.actor });
  const oldKek = m1.keyring.current().kek.kekId;
  const load = Promise.all(Array.from({ length: 10 }, (_, i) => m2.service.rotate({ name: `s${i}`, value: text(`rotated-${i}`), actor: m2.actor })));
  const result = await rotateClusterKey({ store: cluster.store, keyring: m1.keyring, actor: m1.actor, batchSize: 7 });
  await load;
  t.not(result.kekId, oldKek);
  t.ok(result.batches >= 5, `batches of at most 7 (${result.batches})`);
  const keys = (await cluster.store.list(versionKeyCollection)).entries;
  t.ok(keys.every((entry) => entry.value.kekId === result.kekId), 'every data key under the new KEK');
  await m2.keyring.refresh();
  for (let i = 0; i < 30; i += 1) t.equal(await reveal(m2.service, `s${i}`, i < 10 ? 2 : 1), i < 10 ? `rotated-${i}` : `secret-${i}`, `s${i} readable on the other manager`);
  t.equal(m1.keyring.record?.value.rotation, undefined, 'rotation finished');
  const file = JSON.parse(await readFile(clusterKeyFile(m2.paths), 'utf8')) as { kekId: string };
  t.equal(file.kekId, result.kekId, 'the other manager followed the rotation on disk');

  // a crash after the first batch: the rotation record stays; the next run resumes it
  const begun = await m1.keyring.beginRotation(m1.actor);
  const stale = (await cluster.store.list(versionKeyCollection)).entries.filter((entry) => entry.value.kekId !== begun.to.kekId);
  t.ok(stale.length > 0, 'data keys under the old KEK after the crash');
  t.ok((await cluster.store.get(keyringCollection, keyringId))?.value.rotation, 'rotation recorded');
  const resumed = await rotateClusterKey({ store: cluster.store, keyring: m2.keyring, actor: m2.actor });
  t.match(resumed, { resumed: true, kekId: begun.to.kekId, rewrapped: 40 }, 'another manager resumed it (30 first versions and 10 rotated)');
  for (let i = 0; i < 30; i += 1) t.ok((await m1.service.reveal(`s${i}`, 1)).length > 0, `s${i} v1 readable after the resume`);
});

t.test('autolock: the KEK leaves the disk; a restarted manager is locked until unlocked with the key; a wrong key is refused', async (t) => {
  const cluster = await makeCluster(t);
  const m1 = await cluster.manager('m1');
  const m2 = await cluster.manager('m2', m1);
  await m1.service.create({ name: 'pw', value: text('locked-value'), actor: m1.actor });
  const { unlockKey } = await m1.keyring.setAutolock(true, m1.actor);
  t.match(unlockKey, /^BRTULK-1-[0-9a-f]{64}$/);
  await m2.keyring.refresh();
  await t.rejects(readFile(clusterKeyFile(m1.paths)), { code: 'ENOENT' }, 'no KEK on m1 disk');
  await t.rejects(readFile(clusterKeyFile(m2.paths)), { code: 'ENOENT' }, 'no KEK on m2 disk');
  t.equal(await m2.keyring.unlockKeyText(false, m2.actor), unlockKey, 'the other manager can show the unlock key');

  const restarted = await cluster.manager('m3'); // a manager started with autolock on: no key on disk
  t.equal(restarted.keyring.state, 'locked');
  await t.rejects(restarted.service.rotate({ name: 'pw', value: text('x'), actor: restarted.actor }), { code: 'CLUSTER_LOCKED', message: /berth cluster unlock/ });
  await t.rejects(restarted.service.reveal('pw', 1), { code: 'CLUSTER_LOCKED' });
  const wrong = `BRTULK-1-${'0'.repeat(64)}`;
  await t.rejects(restarted.keyring.unlock(wrong, restarted.actor), { code: 'UNLOCK_KEY_REJECTED' });
  await t.rejects(restarted.keyring.unlock('not-a-key', restarted.actor), { code: 'UNLOCK_KEY_REJECTED' });
  t.equal(restarted.keyring.state, 'locked', 'still locked');
  await restarted.keyring.unlock(unlockKey ?? '', restarted.actor);
  t.equal(Buffer.from(await restarted.service.reveal('pw', 1)).toString(), 'locked-value');

  // key rotation under autolock keeps the unlock key working; unlock-key --rotate replaces it
  await rotateClusterKey({ store: cluster.store, keyring: m1.keyring, actor: m1.actor });
  const rotatedUnlock = await m1.keyring.unlockKeyText(true, m1.actor);
  t.not(rotatedUnlock, unlockKey);
  const again = await cluster.manager('m4');
  await t.rejects(again.keyring.unlock(unlockKey ?? '', again.actor), { code: 'UNLOCK_KEY_REJECTED' }, 'the old unlock key stops working');
  await again.keyring.unlock(rotatedUnlock, again.actor);
  t.equal(Buffer.from(await again.service.reveal('pw', 1)).toString(), 'locked-value');
  const actions: string[] = (await readAudit(cluster.store)).map((entry) => entry.action);
  for (const action of ['create', 'autolock', 'unlock', 'key-rotate', 'key-rotate-done', 'unlock-key-rotate']) t.ok(actions.includes(action), `audited: ${action}`);
  t.ok(actions.filter((action) => action === 'unlock-refused').length >= 2, 'refused unlocks are audited');

  await m1.keyring.setAutolock(false, m1.actor);
  await again.keyring.refresh();
  t.ok(JSON.parse(await readFile(clusterKeyFile(again.paths), 'utf8')), 'autolock off: the KEK is back on disk');
});
