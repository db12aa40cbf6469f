/**
 * The policy store's pure parts over the in-memory KV store: writes (one transaction per apply, own-prefix
 * endpoints, stale records replaced) and the view that turns store entries and watch events into engine events.
 */
import t from 'tap';
import { parseDocuments, type EndpointRecord } from '@berth/firewall';
import { MemoryKvStore, Store, revokedCollection, type WatchEvent } from '@berth/secrets';
import { collectRevokedEndpoints } from '../../src/daemon/policy/endpoint-gc.js';
import { endpointsPrefix, policiesPrefix } from '../../src/daemon/policy/schema.js';
import { PolicyView } from '../../src/daemon/policy/view.js';
import {
  applyPolicies, collectEndpoints, documentsPerApplyMax, registerEndpoint, removePolicy, setClusterMonitor, unregisterEndpoint,
} from '../../src/daemon/policy/writes.js';

const policy = (name: string, port = 80): string => JSON.stringify({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'x' },
  spec: { podSelector: { matchLabels: { app: name } }, ingress: [{ ports: [{ port }] }] },
});

function endpoint(name: string, ip: string, containerId: string | null = `c-${name}`): EndpointRecord {
  return { namespace: 'x', name, labels: { app: name }, ips: [ip], interface: `v-${name}`, namedPorts: [], network: 'net', containerId, ifName: containerId === null ? null : 'eth0' };
}

async function fresh(): Promise<{ kv: MemoryKvStore; store: Store }> {
  const kv = new MemoryKvStore();
  return { kv, store: new Store(kv) };
}

t.test('an apply is one transaction with kubectl outcomes; rm and monitor; the view follows', async (t) => {
  const { kv, store } = await fresh();
  const first = await applyPolicies(store, parseDocuments([policy('a'), policy('b')].join('\n---\n')));
  t.same([first.created, first.configured, first.unchanged], [['NetworkPolicy/x/a', 'NetworkPolicy/x/b'], [], []]);
  const second = await applyPolicies(store, parseDocuments([policy('a', 81), policy('b')].join('\n---\n')));
  t.same([second.created, second.configured, second.unchanged], [[], ['NetworkPolicy/x/a'], ['NetworkPolicy/x/b']]);
  t.ok(second.revision > first.revision);
  const third = await applyPolicies(store, parseDocuments(policy('b')));
  t.same([third.unchanged, third.revision], [['NetworkPolicy/x/b'], 0], 'an apply that changes nothing writes nothing (no revision to wait for)');
  const events: WatchEvent[] = [];
  const watch = kv.watch(policiesPrefix, { fromRevision: first.revision, onEvents: (batch) => events.push(...batch), onResync: () => t.fail('no resync') });
  await removePolicy(store, 'NetworkPolicy/x/b');
  await t.rejects(removePolicy(store, 'NetworkPolicy/x/b'), { code: 'NOT_FOUND' }, 'removing an absent document is NOT_FOUND');
  await setClusterMonitor(store, true);
  await watch.close();
  t.same(events.map((event) => `${event.kind} ${event.key.slice(policiesPrefix.length)}`),
    ['put documents/NetworkPolicy:x:a', 'put documents/NetworkPolicy:x:b', 'put documents/NetworkPolicy:x:a', 'delete documents/NetworkPolicy:x:b', 'put settings/cluster'],
    'the second apply wrote only the changed document');

  const view = new PolicyView();
  t.same(view.policyEvents(events).map((event) => event.kind), ['applyDocuments', 'applyDocuments', 'applyDocuments', 'removeDocuments', 'setMonitor']);
  t.equal(view.documentCount, 1);
  t.equal(view.snapshot().monitor, true);
  const reloaded = new PolicyView();
  reloaded.loadPolicies((await kv.list(policiesPrefix)).kvs);
  t.same(reloaded.snapshot(), view.snapshot(), 'a listing gives the state the events gave');
});

t.test('bad input changes nothing: invalid documents, too many documents, an oversized id', async (t) => {
  const { kv, store } = await fresh();
  t.throws(() => parseDocuments('kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: x}\nspec: {podSelector: {}, ingress: [{form: []}]}'));
  const many = Array.from({ length: documentsPerApplyMax + 1 }, (_, index) => policy(`p${index}`)).join('\n---\n');
  await t.rejects(applyPolicies(store, parseDocuments(many)), { code: 'INVALID_ARGUMENT' });
  await t.rejects(registerEndpoint(store, 'n1', { ...endpoint('a', '10.1.0.2'), name: 'x'.repeat(130) }), { code: 'STORE_INVALID_KEY' });
  t.equal((await kv.list('/berth/v1/')).kvs.length, 0, 'nothing was stored');
});

t.test('endpoints: own prefix, stale records replaced, DEL and GC by attachment; the view resolves duplicates', async (t) => {
  const { kv, store } = await fresh();
  await registerEndpoint(store, 'n1', endpoint('a', '10.1.0.2'));
  await registerEndpoint(store, 'n1', endpoint('b', '10.1.0.3'));
  // A new pod reusing b's address after a missed DEL: b's record goes in the same transaction.
  await registerEndpoint(store, 'n1', endpoint('c', '10.1.0.3', 'c-new'));
  await registerEndpoint(store, 'n2', endpoint('d', '10.2.0.2'));
  const keys = (await kv.list(endpointsPrefix)).kvs.map((item) => item.key.slice(endpointsPrefix.length));
  t.same(keys, ['n1/x:a', 'n1/x:c', 'n2/x:d']);
  t.equal(await unregisterEndpoint(store, 'n1', { containerId: 'nope', ifName: 'eth0' }), undefined, 'DEL of an unknown attachment changes nothing');
  await unregisterEndpoint(store, 'n1', { containerId: 'c-a', ifName: 'eth0' });
  await collectEndpoints(store, 'n1', 'net', new Set(['c-zzz/eth0']));
  t.same((await kv.list(endpointsPrefix)).kvs.map((item) => item.key.slice(endpointsPrefix.length)), ['n2/x:d'], 'GC dropped n1\'s records of the network, not n2\'s');

  const view = new PolicyView();
  const put = (node: string, record: EndpointRecord, revision: number): WatchEvent => ({ kind: 'put', key: `${endpointsPrefix}${node}/x:${record.name}`, value: Buffer.from(JSON.stringify(record)), modRevision: revision as never });
  // The same pod registered by two hosts (a name reused before the old host's DEL): the latest wins; when it goes, the other returns.
  t.same(view.endpointEvents([put('n1', endpoint('p', '10.1.0.9'), 10), put('n2', endpoint('p', '10.2.0.9'), 11)]).map((event) => event.kind), ['upsertEndpoint', 'upsertEndpoint']);
  t.same(view.snapshot().endpoints.map((record) => record.ips[0]), ['10.2.0.9']);
  const back = view.endpointEvents([{ kind: 'delete', key: `${endpointsPrefix}n2/x:p`, value: Buffer.alloc(0), modRevision: 12 as never }]);
  t.same(back.map((event) => (event.kind === 'upsertEndpoint' ? event.endpoint.ips[0] : event.kind)), ['10.1.0.9']);
  const gone = view.endpointEvents([{ kind: 'delete', key: `${endpointsPrefix}n1/x:p`, value: Buffer.alloc(0), modRevision: 13 as never }]);
  t.same(gone, [{ kind: 'removeEndpoint', key: 'x/p' }]);
  const bad = view.endpointEvents([{ kind: 'put', key: `${endpointsPrefix}n3/x:q`, value: Buffer.from('{"namespace":"x","name":"q","ips":["nope"]}'), modRevision: 14 as never }]);
  t.same(bad, [], 'an invalid record is skipped');
  t.equal(view.invalidEntries, 1);
  t.match(view.problems[0], /endpoints\/n3\/x:q/);
});

t.test('managers drop the endpoints of revoked hosts, and only theirs', async (t) => {
  const { kv, store } = await fresh();
  await registerEndpoint(store, 'gone', endpoint('a', '10.1.0.2'));
  await registerEndpoint(store, 'gone', endpoint('b', '10.1.0.3'));
  await registerEndpoint(store, 'stays', endpoint('c', '10.2.0.2'));
  t.equal(await collectRevokedEndpoints(store), 0, 'nothing is revoked: nothing goes');
  await store.put(revokedCollection, 'gone', { nodeId: 'gone', serials: ['0a'], revokedAt: new Date().toISOString(), expiresAt: new Date().toISOString() });
  t.equal(await collectRevokedEndpoints(store), 2);
  t.same((await kv.list(endpointsPrefix)).kvs.map((item) => item.key.slice(endpointsPrefix.length)), ['stays/x:c']);
});

t.test('a listing: the newest record of a pod holds it whatever the key order; unchanged records are not parsed again', async (t) => {
  const kv = (node: string, record: EndpointRecord, revision: number) => ({ key: `${endpointsPrefix}${node}/x:${record.name}`, value: Buffer.from(JSON.stringify(record)), modRevision: revision as never, createRevision: revision as never, version: 1, lease: undefined });
  const listing = [kv('n1', endpoint('p', '10.1.0.9'), 12), kv('n2', endpoint('p', '10.2.0.9'), 10), kv('n2', endpoint('q', '10.2.0.10'), 11)];
  const view = new PolicyView();
  view.loadEndpoints(listing);
  t.same(view.snapshot().endpoints.map((record) => record.ips[0]), ['10.2.0.10', '10.1.0.9'], 'n1\'s newer record of x/p holds it');
  const first = view.snapshot().endpoints;
  view.loadEndpoints(listing);
  t.equal(view.snapshot().endpoints[1], first[1], 'a reload keeps the parsed record of an unchanged entry');
  view.loadEndpoints([kv('n1', endpoint('p', '10.1.0.8'), 13), ...listing.slice(1)]);
  t.same(view.snapshot().endpoints.map((record) => record.ips[0]), ['10.2.0.10', '10.1.0.8'], 'a changed entry is parsed again');
});
