import t from 'tap';
import { ClusterError } from '../../src/cluster/errors.js';
import { errorFromBody, parseAddressWithPort, parseJoinRequest, parseJoinResponse } from '../../src/cluster/join-protocol.js';
import { decodeClusterKey, encodeClusterKey } from '../../src/secrets/cluster-key-file.js';
import { newClusterKey } from '../../src/secrets/crypto.js';
import { loadSodium } from '../../src/secrets/sodium.js';
import { HostBreaker } from '../../src/store/host-breaker.js';
import { prefixEnd } from '../../src/store/etcd-kv-store.js';

const invalid = { name: ClusterError.name, code: 'REQUEST_INVALID' };
const good = {
  token: `BRTTKN-1-${'a'.repeat(64)}-${'b'.repeat(32)}`, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----',
  addresses: ['10.0.0.1'], hostname: 'host-1', etcdClientPort: 2379, etcdPeerPort: 2380,
};

t.test('join requests: a good one parses; hostile ones are REQUEST_INVALID', async (t) => {
  t.same(parseJoinRequest(good), good);
  const cases: Array<[string, unknown]> = [
    ['null', null], ['array', []], ['string', 'x'],
    ['extra field', { ...good, role: 'manager' }],
    ['prototype pollution key', JSON.parse(`{"__proto__":{"admin":true},${JSON.stringify(good).slice(1)}`)],
    ['missing token', { ...good, token: undefined }],
    ['huge token', { ...good, token: 'x'.repeat(10_000) }],
    ['node id chosen by the joiner', { ...good, nodeId: 'n0123456789ab' }],
    ['two addresses', { ...good, addresses: ['10.0.0.1', '10.0.0.2'] }],
    ['address not IP', { ...good, addresses: ['localhost'] }],
    ['address list empty', { ...good, addresses: [] }],
    ['address not string', { ...good, addresses: [167772161] }],
    ['hostname with spaces', { ...good, hostname: 'a b' }],
    ['hostname with newline', { ...good, hostname: 'a\nb' }],
    ['port zero', { ...good, etcdPeerPort: 0 }],
    ['port as string', { ...good, etcdClientPort: '2379' }],
    ['port fraction', { ...good, etcdClientPort: 2379.5 }],
    ['csr huge', { ...good, csrPem: 'x'.repeat(100_000) }],
  ];
  for (const [name, body] of cases) t.throws(() => parseJoinRequest(body), invalid, name);
});

t.test('join responses from a manager are checked too', async (t) => {
  t.throws(() => parseJoinResponse({ role: 'admin' }), invalid);
  t.throws(() => parseJoinResponse({ role: 'worker', clientUrls: ['http://10.0.0.1:2379'] }), invalid, 'plaintext client URL refused');
  t.throws(() => parseJoinResponse({ role: 'manager', clientUrls: ['https://10.0.0.1:2379'], member: { memberId: '1', clusterToken: 't', initialCluster: 'x' } }), invalid);
  t.throws(() => parseJoinResponse({ role: 'worker', clientUrls: ['https://10.0.0.1:2379'], nodeId: '../x', clusterId: 'c', certificatePem: 'x', caCertificatePem: 'x' }), invalid, 'a node id the manager assigns is checked too');
});

t.test('the cluster key in a join answer is parsed strictly, and round-trips through its codec', async (t) => {
  const base = { clusterId: 'abcdef0123', nodeId: 'n0123456789ab', role: 'manager', certificatePem: 'c', caCertificatePem: 'ca', clientUrls: ['https://10.0.0.1:2379'] };
  await loadSodium();
  const key = newClusterKey();
  const parsed = parseJoinResponse({ ...base, clusterKey: encodeClusterKey(key, true) });
  const decoded = decodeClusterKey(parsed.clusterKey);
  t.same([decoded.key.kekId, Buffer.from(decoded.key.key).toString('hex'), decoded.autolock], [key.kekId, Buffer.from(key.key).toString('hex'), true]);
  t.equal(parseJoinResponse(base).clusterKey, undefined, 'absent for workers');
  t.throws(() => parseJoinResponse({ ...base, clusterKey: { kekId: 'k1', key: 'x'.repeat(65), autolock: false } }), invalid, 'oversized key field');
  t.throws(() => parseJoinResponse({ ...base, clusterKey: { kekId: 'k1', key: 'AAAA', autolock: 'yes' } }), invalid, 'autolock not a boolean');
  t.throws(() => decodeClusterKey({ kekId: 'k1', key: 'AAAA', autolock: false }), TypeError, 'a key of the wrong length');
});

t.test('ADDR[:PORT] parsing', async (t) => {
  t.same(parseAddressWithPort('10.1.2.3', 2377), { address: '10.1.2.3', port: 2377 });
  t.same(parseAddressWithPort('10.1.2.3:4000', 2377), { address: '10.1.2.3', port: 4000 });
  t.same(parseAddressWithPort('[fd00::1]:4000', 2377), { address: 'fd00::1', port: 4000 });
  t.same(parseAddressWithPort('fd00::1', 2377), { address: 'fd00::1', port: 2377 });
  for (const bad of ['', 'host:2377', '10.1.2.3:0', '10.1.2.3:70000', '10.1.2.3:', '999.1.1.1', '10.1.2.3:22; rm -rf /', 'x'.repeat(500)]) {
    t.throws(() => parseAddressWithPort(bad, 2377), invalid, JSON.stringify(bad.slice(0, 30)));
  }
});

t.test('error bodies keep known codes and never invent others', async (t) => {
  t.equal(errorFromBody(403, { error: { code: 'TOKEN_REJECTED', message: 'no' } }, 'Join').code, 'TOKEN_REJECTED');
  t.equal(errorFromBody(500, { error: { code: 'ROOT_ME', message: 'x' } }, 'Join').code, 'JOIN_FAILED');
  t.equal(errorFromBody(502, 'garbage', 'Join').message, 'Join failed with HTTP 502');
});

t.test('prefix ranges', async (t) => {
  t.same(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
  t.same(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  t.same(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
});

t.test('the member breaker opens on transport failures only, and lets calls through again later', async (t) => {
  const breaker = new HostBreaker();
  const refused = () => Promise.reject(new Error('14 UNAVAILABLE: No connection established'));
  const etcdSaysNo = () => Promise.reject(new Error('14 UNAVAILABLE: etcdserver: unhealthy cluster'));
  const deadline = () => Promise.reject(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 0.250s'));
  for (let i = 0; i < 5; i += 1) await t.rejects(breaker.execute(etcdSaysNo), /unhealthy cluster/);
  for (let i = 0; i < 5; i += 1) await t.rejects(breaker.execute(deadline), /DEADLINE/);
  t.equal(await breaker.execute(async () => 'reached'), 'reached', "etcd's own refusals and deadlines never open it");
  await t.rejects(breaker.execute(refused));
  await t.rejects(breaker.execute(refused));
  let called = false;
  await t.rejects(breaker.execute(async () => { called = true; }), /skipped/);
  t.notOk(called, 'open: the call is not made, so the pool tries another member');
});
