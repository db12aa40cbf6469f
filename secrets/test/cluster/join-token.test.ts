import t from 'tap';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { createClusterCa, newClusterId } from '../../src/cluster/ca.js';
import { certificateFingerprint } from '../../src/cluster/pki.js';
import { authorizeJoinToken, formatJoinToken, hashJoinSecret, joinSecretMatches, newJoinTokenRecord, openJoinSecret, parseJoinToken } from '../../src/cluster/join-token.js';

const fingerprint = 'ab'.repeat(32);
const ca = await createClusterCa({ clusterId: newClusterId() });
const otherCa = await createClusterCa({ clusterId: newClusterId() });
const code = (value: string) => ({ name: ClusterError.name, code: value });

t.test('a token round-trips and has the documented shape', async (t) => {
  const { secret } = newJoinTokenRecord('worker', ca.privateKeyPem);
  const text = formatJoinToken({ caFingerprint: fingerprint, secret });
  t.match(text, /^BRTTKN-1-[0-9a-f]{64}-[0-9a-f]{32}$/);
  t.same(parseJoinToken(text), { caFingerprint: fingerprint, secret });
  t.same(parseJoinToken(`  ${text}\n`), { caFingerprint: fingerprint, secret }, 'a pasted newline is forgiven');
});

t.test('hostile or malformed token text is TOKEN_MALFORMED', async (t) => {
  const good = formatJoinToken({ caFingerprint: fingerprint, secret: 'cd'.repeat(16) });
  const cases: Array<[string, unknown]> = [
    ['empty', ''], ['not a string', 42], ['null', null], ['object', { token: good }],
    ['swarm token', `SWMTKN-1-${fingerprint}-${'cd'.repeat(16)}`],
    ['uppercase hex', good.toUpperCase()],
    ['short secret', good.slice(0, -1)], ['long secret', `${good}0`],
    ['inner space', good.replace('-', ' -')], ['newline inside', good.replace('BRTTKN-1-', 'BRTTKN-1-\n')],
    ['huge', `${good}${'0'.repeat(1_000_000)}`], ['NUL', `${good}\0`], ['unicode digits', good.replace('a', '\u0661')],
  ];
  for (const [name, text] of cases) t.throws(() => parseJoinToken(text), code(ClusterErrorCode.TokenMalformed), name);
});

t.test('stored records hold a hash, never the secret; matching is exact', async (t) => {
  const { record, secret } = newJoinTokenRecord('manager', ca.privateKeyPem);
  t.notOk(JSON.stringify(record).includes(secret), 'the secret is not in the record');
  t.ok(joinSecretMatches(secret, record.secretHash));
  t.notOk(joinSecretMatches(secret.replace(/.$/, (c) => (c === '0' ? '1' : '0')), record.secretHash));
  t.notOk(joinSecretMatches(secret, 'sha256:short'), 'a corrupt stored hash never matches');
  t.equal(hashJoinSecret(secret), record.secretHash);
});

t.test('authorization: role by secret, another cluster is CA_MISMATCH, a rotated token is TOKEN_REJECTED', async (t) => {
  const manager = newJoinTokenRecord('manager', ca.privateKeyPem);
  const worker = newJoinTokenRecord('worker', ca.privateKeyPem);
  const records = [manager.record, worker.record];
  t.equal(authorizeJoinToken({ token: { caFingerprint: fingerprint, secret: manager.secret }, caFingerprint: fingerprint, records }), 'manager');
  t.equal(authorizeJoinToken({ token: { caFingerprint: fingerprint, secret: worker.secret }, caFingerprint: fingerprint, records }), 'worker');
  t.throws(() => authorizeJoinToken({ token: { caFingerprint: 'cd'.repeat(32), secret: worker.secret }, caFingerprint: fingerprint, records }), code(ClusterErrorCode.CaMismatch));
  const rotated = newJoinTokenRecord('worker', ca.privateKeyPem);
  const after = [manager.record, rotated.record];
  t.throws(() => authorizeJoinToken({ token: { caFingerprint: fingerprint, secret: worker.secret }, caFingerprint: fingerprint, records: after }), code(ClusterErrorCode.TokenRejected), 'the old worker token no longer works');
  t.equal(authorizeJoinToken({ token: { caFingerprint: fingerprint, secret: rotated.secret }, caFingerprint: fingerprint, records: after }), 'worker');
  t.throws(() => authorizeJoinToken({ token: { caFingerprint: fingerprint, secret: worker.secret }, caFingerprint: fingerprint, records: [] }), code(ClusterErrorCode.TokenRejected));
});

t.test('the sealed copy opens only with the CA key and only for its role', async (t) => {
  const { record, secret } = newJoinTokenRecord('worker', ca.privateKeyPem);
  t.notOk(record.sealedSecret.includes(secret));
  t.equal(openJoinSecret(record, ca.privateKeyPem), secret);
  t.throws(() => openJoinSecret(record, otherCa.privateKeyPem), code(ClusterErrorCode.StateInvalid), 'another CA key cannot open it');
  t.throws(() => openJoinSecret({ ...record, role: 'manager' }, ca.privateKeyPem), code(ClusterErrorCode.StateInvalid), 'a worker secret cannot be relabelled manager');
  t.throws(() => openJoinSecret({ ...record, sealedSecret: 'v1.x.y' }, ca.privateKeyPem), code(ClusterErrorCode.StateInvalid));
});

t.test('a token with an expiry is refused after it, with the same rejection as an unknown one', async (t) => {
  const now = new Date('2026-06-01T00:00:00Z');
  const { record, secret } = newJoinTokenRecord('worker', ca.privateKeyPem, { now, ttlSeconds: 60 });
  t.equal(record.expiresAt, '2026-06-01T00:01:00.000Z');
  const token = { caFingerprint: certificateFingerprint(ca.certificatePem), secret };
  t.equal(authorizeJoinToken({ token, caFingerprint: token.caFingerprint, records: [record], now: new Date('2026-06-01T00:00:59Z') }), 'worker');
  t.throws(() => authorizeJoinToken({ token, caFingerprint: token.caFingerprint, records: [record], now: new Date('2026-06-01T00:01:00Z') }), { code: 'TOKEN_REJECTED', message: /expired/ });
});
