import type { Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../src/store/errors.js';
import { defineCollection } from '../../src/store/keyspace.js';
import type { KeyValue, KvStore, WatchEvent } from '../../src/store/kv-store.js';
import { absent, toRevision, type Revision } from '../../src/store/revision.js';
import { Store } from '../../src/store/typed-store.js';

/** How a contract run gets a store: fresh key prefix per case, so cases do not see each other's keys. */
export interface ContractSubject {
  readonly store: KvStore;
  /** Makes a lease's keys go away (revoke on etcd; expiry on the double). */
  readonly endLease: (id: string) => Promise<void>;
}

const waitMsMax = 10_000;

async function eventually(what: string, predicate: () => boolean): Promise<void> {
  for (const deadline = Date.now() + waitMsMax; !predicate(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${waitMsMax} ms`);
  }
}

const bytes = (text: string): Buffer => Buffer.from(text);
const put = (key: string, value: string) => ({ kind: 'put' as const, key, value: bytes(value) });

interface Host { name: string; port: number }
function parseHost(value: unknown): Host {
  const v = value as Partial<Host> | null;
  if (typeof v?.name !== 'string' || typeof v.port !== 'number' || !Number.isInteger(v.port)) throw new TypeError('expected {name, port:int}');
  return { name: v.name, port: v.port };
}

/** The cases every KvStore implementation must pass, in one place (hono-style shared contract suite). */
export function storeContract(t: Test, subject: () => ContractSubject, prefixBase: string): void {
  let counter = 0;
  const fresh = (): string => `${prefixBase}/c${++counter}-${Date.now().toString(36)}/`;

  t.test('get of a missing key: no value, a revision', async (t) => {
    const p = fresh();
    const result = await subject().store.get(`${p}missing`);
    t.equal(result.kv, undefined);
    t.ok(result.revision >= 1);
  });

  t.test('put then get: value, mod revision = commit revision, version counts', async (t) => {
    const { store } = subject();
    const p = fresh();
    const first = await store.txn([], [put(`${p}k`, 'one')]);
    const second = await store.txn([], [put(`${p}k`, 'two')]);
    t.ok(second.revision > first.revision, 'each write advances the revision');
    const { kv } = await store.get(`${p}k`);
    t.equal(kv?.value.toString(), 'two');
    t.equal(kv?.modRevision, second.revision);
    t.equal(kv?.createRevision, first.revision);
    t.equal(kv?.version, 2);
  });

  t.test('list returns exactly the prefix, sorted by key, at one revision', async (t) => {
    const { store } = subject();
    const p = fresh();
    await store.txn([], [put(`${p}b`, '2'), put(`${p}a`, '1'), put(`${p.slice(0, -1)}x/c`, 'outside'), put(`${p}a/deeper`, '3')]);
    const { kvs, revision } = await store.list(p);
    t.same(kvs.map((kv) => kv.key), [`${p}a`, `${p}a/deeper`, `${p}b`]);
    t.ok(kvs.every((kv) => kv.modRevision <= revision));
  });

  t.test('compare-and-swap: create once, stale revision loses, current wins', async (t) => {
    const { store } = subject();
    const key = `${fresh()}cas`;
    const created = await store.txn([{ key, modRevision: absent }], [put(key, 'v1')]);
    t.ok(created.succeeded, 'create when absent');
    const again = await store.txn([{ key, modRevision: absent }], [put(key, 'other')]);
    t.notOk(again.succeeded, 'second create fails');
    const stale = await store.txn([{ key, modRevision: toRevision(created.revision - 1) }], [put(key, 'stale')]);
    t.notOk(stale.succeeded, 'stale revision fails');
    const swapped = await store.txn([{ key, modRevision: created.revision }], [put(key, 'v2')]);
    t.ok(swapped.succeeded, 'current revision wins');
    t.equal((await store.get(key)).kv?.value.toString(), 'v2');
    t.equal(again.revision, created.revision, 'a failed transaction changes nothing');
  });

  t.test('multi-key transaction: all or nothing under revision preconditions', async (t) => {
    const { store } = subject();
    const p = fresh();
    const base = await store.txn([], [put(`${p}a`, 'a0'), put(`${p}b`, 'b0')]);
    const conflict = await store.txn([], [put(`${p}b`, 'b1')]);
    const failed = await store.txn([{ key: `${p}a`, modRevision: base.revision }, { key: `${p}b`, modRevision: base.revision }],
      [put(`${p}a`, 'a-new'), { kind: 'delete', key: `${p}b` }, put(`${p}c`, 'c-new')]);
    t.notOk(failed.succeeded, 'one stale precondition fails the whole transaction');
    t.same((await store.list(p)).kvs.map((kv) => kv.value.toString()), ['a0', 'b1'], 'nothing applied');
    const ok = await store.txn([{ key: `${p}a`, modRevision: base.revision }, { key: `${p}b`, modRevision: conflict.revision }],
      [put(`${p}a`, 'a-new'), { kind: 'delete', key: `${p}b` }, put(`${p}c`, 'c-new')]);
    t.ok(ok.succeeded);
    const after = await store.list(p);
    t.same(after.kvs.map((kv) => [kv.key.slice(p.length), kv.value.toString()]), [['a', 'a-new'], ['c', 'c-new']]);
    t.ok(after.kvs.every((kv) => kv.modRevision === ok.revision), 'all changes carry one revision');
  });

  t.test('a prefix precondition: fails once any key under the prefix was created or changed after the listing, not for deletes', async (t) => {
    const { store } = subject();
    const p = fresh();
    await store.txn([], [put(`${p}a`, 'a0'), put(`${p}b`, 'b0'), put(`${p.slice(0, -1)}-outside`, 'x')]);
    const listed = await store.list(p);
    const claim = (key: string) => store.txn([{ prefix: p, unchangedSince: listed.revision }], [put(`${p}${key}`, 'claimed')]);
    await store.txn([], [put(`${p.slice(0, -1)}-outside`, 'y')]);
    t.ok((await claim('c')).succeeded, 'a change outside the prefix does not count');
    t.notOk((await claim('d')).succeeded, 'the first claim changed the prefix: a second claim from the same listing fails');
    const relisted = await store.list(p);
    await store.txn([], [{ kind: 'delete', key: `${p}a` }]);
    t.ok((await store.txn([{ prefix: p, unchangedSince: relisted.revision }], [put(`${p}d`, 'claimed')])).succeeded, 'a delete after the listing does not fail it');
    const empty = fresh();
    t.ok((await store.txn([{ prefix: empty, unchangedSince: relisted.revision }], [put(`${empty}x`, '1')])).succeeded, 'an empty prefix holds');
    t.same((await store.list(p)).kvs.map((kv) => kv.key.slice(p.length)), ['b', 'c', 'd']);
  });

  t.test('watch from an old revision replays history in order, then follows, never twice', async (t) => {
    const { store } = subject();
    const p = fresh();
    const first = await store.txn([], [put(`${p}k`, '1')]);
    await store.txn([], [put(`${p}k`, '2')]);
    await store.txn([], [{ kind: 'delete', key: `${p}k` }]);
    const seen: WatchEvent[] = [];
    const watch = store.watch(p, { fromRevision: first.revision, onEvents: (events) => seen.push(...events), onResync: () => t.fail('no resync expected') });
    t.teardown(() => watch.close());
    await eventually('replay', () => seen.length >= 3);
    const last = await store.txn([], [put(`${p}k`, '4'), put(`${p}j`, '5')]);
    await eventually('follow', () => seen.length >= 5);
    t.same(seen.map((e) => `${e.kind}:${e.key.slice(p.length)}:${e.value.toString()}`), ['put:k:1', 'put:k:2', 'delete:k:', 'put:k:4', 'put:j:5']);
    t.ok(seen.every((e, i) => i === 0 || (seen[i - 1]?.modRevision ?? 0) <= e.modRevision), 'revisions never go back');
    await eventually('delivered', () => watch.deliveredRevision >= last.revision);
    await sleep(100);
    t.equal(seen.length, 5, 'no duplicates');
  });

  t.test('a watch whose start was compacted resyncs with a snapshot, then follows', async (t) => {
    const { store } = subject();
    const p = fresh();
    const old = await store.txn([], [put(`${p}a`, '1')]);
    await store.txn([], [put(`${p}a`, '2'), put(`${p}b`, '3')]);
    const latest = await store.txn([], [put(`${p}c`, 'x')]);
    await store.txn([], [{ kind: 'delete', key: `${p}c` }]);
    await store.compact(latest.revision).catch((error: unknown) => {
      if (!(error instanceof Error && /compacted/.test(error.message))) throw error;
    });
    const snapshots: Array<{ kvs: readonly KeyValue[]; revision: Revision }> = [];
    const events: WatchEvent[] = [];
    const watch = store.watch(p, { fromRevision: old.revision, onEvents: (e) => events.push(...e), onResync: (kvs, revision) => snapshots.push({ kvs, revision }) });
    t.teardown(() => watch.close());
    await eventually('resync', () => snapshots.length === 1);
    t.same(snapshots[0]?.kvs.map((kv) => `${kv.key.slice(p.length)}=${kv.value.toString()}`).sort(), ['a=2', 'b=3'], 'snapshot is the current state');
    t.ok(watch.resyncs >= 1);
    await store.txn([], [put(`${p}d`, '4')]);
    await eventually('follow after resync', () => events.some((e) => e.key === `${p}d`));
    t.notOk(events.some((e) => e.modRevision <= (snapshots[0]?.revision ?? 0)), 'nothing older than the snapshot is replayed');
  });

  t.test('a key written under a lease disappears when the lease ends, and watchers see the delete', async (t) => {
    const { store, endLease } = subject();
    const p = fresh();
    const lease = await store.grantLease(30);
    const written = await store.txn([], [{ kind: 'put', key: `${p}alive`, value: bytes('yes'), lease: lease.id }]);
    t.equal((await store.get(`${p}alive`)).kv?.lease, lease.id);
    const events: WatchEvent[] = [];
    const watch = store.watch(p, { fromRevision: toRevision(written.revision + 1), onEvents: (e) => events.push(...e), onResync: () => undefined });
    t.teardown(() => watch.close());
    await endLease(lease.id);
    await eventually('lease delete event', () => events.some((e) => e.kind === 'delete' && e.key === `${p}alive`));
    t.equal((await store.get(`${p}alive`)).kv, undefined);
  });

  t.test('typed collections: values decoded and checked, hostile ids and oversized values refused', async (t) => {
    const typed = new Store(subject().store);
    const hosts = defineCollection(`test/hosts-${++counter}`, parseHost, { valueBytesMax: 256 });
    t.ok(await typed.create(hosts, 'h1', { name: 'one', port: 1 }));
    t.notOk(await typed.create(hosts, 'h1', { name: 'again', port: 2 }), 'create refuses an existing entry');
    const entry = await typed.get(hosts, 'h1');
    t.same(entry?.value, { name: 'one', port: 1 });
    const swap = await typed.compareAndSwap(hosts, 'h1', entry?.modRevision ?? absent, { name: 'one', port: 3 });
    t.ok(swap.swapped);
    t.notOk((await typed.compareAndSwap(hosts, 'h1', entry?.modRevision ?? absent, { name: 'late', port: 4 })).swapped, 'stale CAS refused');
    for (const id of ['', '../x', 'a/b', ' x', 'x'.repeat(200), 'é']) {
      await t.rejects(typed.get(hosts, id), { code: 'STORE_INVALID_KEY' }, `id ${JSON.stringify(id.slice(0, 20))}`);
    }
    await t.rejects(typed.put(hosts, 'big', { name: 'x'.repeat(1000), port: 1 }), { code: 'STORE_TOO_LARGE' });
    await t.rejects(typed.put(hosts, 'bad', { name: 'x' } as unknown as Host), { code: 'STORE_INVALID_VALUE' });
    await subject().store.txn([], [put(hosts.key('corrupt'), '{"name":1}')]);
    const corrupt = await typed.get(hosts, 'corrupt').then(() => undefined, (error: unknown) => error);
    t.ok(corrupt instanceof StoreError && corrupt.code === 'STORE_INVALID_VALUE', 'a corrupt stored value is a typed error');
    t.notOk(String((corrupt as Error).message).includes('"name":1'), 'the stored value is not echoed into the message');
    const tx = await typed.transaction().require(hosts, 'h1', swap.revision).put(hosts, 'h2', { name: 'two', port: 2 }).delete(hosts, 'corrupt').commit();
    t.ok(tx.succeeded);
    t.same((await typed.list(hosts)).entries.map((e) => e.id), ['h1', 'h2']);
    const counts = typed.metrics.snapshot();
    t.ok((counts.ops['cas'] ?? 0) >= 2 && (counts.errors['get:STORE_INVALID_KEY'] ?? 0) >= 1, 'ops and errors are counted');
  });
}
