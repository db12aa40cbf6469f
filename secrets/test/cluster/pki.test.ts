import t from 'tap';
import { X509Certificate as NodeCertificate, generateKeyPairSync } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { clusterIdOfCa, createClusterCa, loadClusterCa, newClusterId } from '../../src/cluster/ca.js';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { createNodeKeyAndCsr, issueAdminCertificate, issueNodeCertificate, managerPeerName, newNodeId, verifyNodeCertificate } from '../../src/cluster/node-cert.js';
import { requireManagerServer } from '../../src/cluster/server-identity.js';
import { certificateFingerprint, newSerialNumber } from '../../src/cluster/pki.js';

type CsrParams = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0];

const clusterId = newClusterId();
const ca = await createClusterCa({ clusterId });
const otherCa = await createClusterCa({ clusterId: newClusterId() });

function hasCode(code: string): { name: string; code: string } {
  return { name: ClusterError.name, code };
}

t.test('a new CA is a CA, names its cluster, and its fingerprint is sha256 hex', async (t) => {
  t.equal(clusterIdOfCa(ca.certificatePem), clusterId);
  t.match(certificateFingerprint(ca.certificatePem), /^[0-9a-f]{64}$/);
  t.not(certificateFingerprint(ca.certificatePem), certificateFingerprint(otherCa.certificatePem));
  await loadClusterCa(ca);
  await t.rejects(loadClusterCa({ certificatePem: ca.certificatePem, privateKeyPem: otherCa.privateKeyPem }), /does not match/);
});

t.test('a node certificate carries its id, role, cluster and addresses, and verifies against its CA only', async (t) => {
  const nodeId = newNodeId();
  const { csrPem } = await createNodeKeyAndCsr();
  const pem = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['10.1.2.3', 'fd00::7'] });
  const identity = verifyNodeCertificate({ certificatePem: pem, caCertificatePem: ca.certificatePem });
  t.equal(identity.nodeId, nodeId);
  t.equal(identity.role, 'manager');
  t.equal(identity.clusterId, clusterId);
  t.same(identity.addresses.length, 2);
  t.ok(identity.addresses.includes('10.1.2.3'));
  t.throws(() => verifyNodeCertificate({ certificatePem: pem, caCertificatePem: otherCa.certificatePem }), hasCode(ClusterErrorCode.CertificateForeign));
  const worker = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: ['10.1.2.3'] });
  t.equal(verifyNodeCertificate({ certificatePem: worker, caCertificatePem: ca.certificatePem }).role, 'worker');
});

t.test('roles in the certificate: managers serve and carry the peer name, workers are clients only, admin is no node', async (t) => {
  const nodeId = newNodeId();
  const { csrPem } = await createNodeKeyAndCsr();
  const manager = new x509.X509Certificate(await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['10.1.2.3'] }));
  const worker = new x509.X509Certificate(await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: ['10.1.2.3'] }));
  const usages = (certificate: x509.X509Certificate) => certificate.getExtension(x509.ExtendedKeyUsageExtension)?.usages;
  t.same(usages(manager), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  t.same(usages(worker), [x509.ExtendedKeyUsage.clientAuth], 'a worker certificate cannot serve TLS');
  const names = (certificate: x509.X509Certificate) => certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((name) => name.value) ?? [];
  t.ok(names(manager).includes(managerPeerName(clusterId)), 'the manager certificate is valid for the peer name');
  t.notOk(names(worker).includes(managerPeerName(clusterId)), 'the worker certificate is not');
  const admin = await issueAdminCertificate({ ca, subjectKey: { csrPem }, nodeId });
  t.throws(() => verifyNodeCertificate({ certificatePem: admin, caCertificatePem: ca.certificatePem }), hasCode(ClusterErrorCode.CertificateForeign), 'an admin certificate never passes as a node certificate');
  t.same(usages(new x509.X509Certificate(admin)), [x509.ExtendedKeyUsage.clientAuth]);
});

t.test('the client-side server check requires a manager of this cluster, after the usual name check', async (t) => {
  const check = requireManagerServer(ca.certificatePem);
  const peer = (pem: string) => {
    const parsed = new NodeCertificate(pem);
    return { subject: Object.fromEntries(parsed.subject.split('\n').map((line) => line.split('='))), subjectaltname: parsed.subjectAltName, raw: parsed.raw } as never;
  };
  const { csrPem } = await createNodeKeyAndCsr();
  const nodeId = newNodeId();
  const manager = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['10.1.2.3'] });
  const worker = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: ['10.1.2.3'] });
  const foreign = await issueNodeCertificate({ ca: otherCa, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['10.1.2.3'] });
  t.equal(check('10.1.2.3', peer(manager)), undefined, 'a manager passes');
  t.match(check('10.1.2.3', peer(worker))?.message, /role worker .* not a manager/, 'a worker is refused');
  t.match(check('10.1.2.3', peer(foreign))?.message, /not a manager of this cluster/, "another cluster's manager is refused");
  t.match(check('10.9.9.9', peer(manager))?.message, /IP: 10\.9\.9\.9 is not in the cert's list/, 'the name check still applies');
});

t.test('an expired or not-yet-valid certificate is refused with CERTIFICATE_EXPIRED', async (t) => {
  const nodeId = newNodeId();
  const { csrPem } = await createNodeKeyAndCsr();
  // issued "three days ago" for one day: valid then, expired now, and not yet valid ten days ago
  const issuedAt = new Date(Date.now() - 3 * 86_400_000);
  const pem = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: ['10.0.0.1'], validitySeconds: 86_400, now: issuedAt });
  t.equal(verifyNodeCertificate({ certificatePem: pem, caCertificatePem: ca.certificatePem, now: issuedAt }).nodeId, nodeId);
  t.throws(() => verifyNodeCertificate({ certificatePem: pem, caCertificatePem: ca.certificatePem }), hasCode(ClusterErrorCode.CertificateExpired));
  t.throws(() => verifyNodeCertificate({ certificatePem: pem, caCertificatePem: ca.certificatePem, now: new Date(Date.now() - 10 * 86_400_000) }), hasCode(ClusterErrorCode.CertificateExpired));
});

t.test('hostile certificate requests are refused with REQUEST_INVALID', async (t) => {
  const nodeId = newNodeId();
  const { csrPem } = await createNodeKeyAndCsr();
  const base = { ca, nodeId, role: 'worker' as const, addresses: ['10.0.0.9'] };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaKeys = await importRsa(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const rsaCsr = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: rsaKeys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as CsrParams['signingAlgorithm'] })).toString('pem');
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const cases: Array<[string, Record<string, unknown>]> = [
    ['empty CSR', { subjectKey: { csrPem: '' } }],
    ['garbage CSR', { subjectKey: { csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' } }],
    ['oversized CSR', { subjectKey: { csrPem: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(100_000)}` } }],
    ['tampered signature', { subjectKey: { csrPem: tampered } }],
    ['RSA key', { subjectKey: { csrPem: rsaCsr } }],
    ['bad node id', { nodeId: '../etc' }],
    ['etcd\'s root user as node id', { nodeId: 'root' }],
    ['node id with comma (subject injection)', { nodeId: 'a,OU=manager' }],
    ['role not known', { role: 'admin' }],
    ['no addresses', { addresses: [] }],
    ['hostname as address', { addresses: ['example.com'] }],
    ['validity below the minimum', { validitySeconds: 1 }],
    ['too many addresses', { addresses: Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 1}`) }],
  ];
  for (const [name, patch] of cases) {
    await t.rejects(issueNodeCertificate({ ...base, subjectKey: { csrPem }, ...patch } as Parameters<typeof issueNodeCertificate>[0]), hasCode(ClusterErrorCode.RequestInvalid), name);
  }
});

t.test('garbage where a certificate is expected is CERTIFICATE_INVALID, and a CA is not a node certificate', async (t) => {
  for (const pem of ['', 'hello', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'x'.repeat(100_000)]) {
    t.throws(() => verifyNodeCertificate({ certificatePem: pem, caCertificatePem: ca.certificatePem }), hasCode(ClusterErrorCode.CertificateInvalid));
  }
  t.throws(() => verifyNodeCertificate({ certificatePem: ca.certificatePem, caCertificatePem: ca.certificatePem }), hasCode(ClusterErrorCode.CertificateForeign));
});

t.test('the certificates work for mutual TLS with Node (loopback), and a foreign client is refused', async (t) => {
  const server = await issuePair('manager');
  const client = await issuePair('worker');
  const foreign = await issuePair('worker', otherCa);
  const tlsServer = createServer({ key: server.key, cert: server.cert, ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.end(`hello ${(socket.getPeerCertificate().subject as { OU?: string } | undefined)?.OU ?? '?'}`);
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => tlsServer.close());
  const port = (tlsServer.address() as AddressInfo).port;
  const talk = (identity: { key: string; cert: string }) => new Promise<string>((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, key: identity.key, cert: identity.cert, ca: ca.certificatePem }, () => undefined);
    let text = '';
    socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.equal(await talk(client), 'hello worker');
  const refused = await talk(foreign).then((text) => text, (error: unknown) => `error: ${String(error)}`);
  t.notOk(refused.startsWith('hello'), 'a client certificate from another CA gets nothing');
});

async function issuePair(role: 'manager' | 'worker', authority = ca): Promise<{ key: string; cert: string }> {
  const nodeId = newNodeId();
  const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
  return { key: privateKeyPem, cert: await issueNodeCertificate({ ca: authority, subjectKey: { csrPem }, nodeId, role, addresses: ['127.0.0.1'] }) };
}

async function importRsa(privatePem: string, publicPem: string): Promise<CsrParams['keys']> {
  const { webcrypto } = await import('node:crypto');
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return {
    privateKey: await webcrypto.subtle.importKey('pkcs8', der(privatePem), algorithm, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', der(publicPem), algorithm, true, ['verify']),
  } as unknown as CsrParams['keys'];
}

t.test('serials are 128-bit positive minimal DER integers (Go, and so etcd, refuses others)', async (t) => {
  for (let i = 0; i < 200; i += 1) t.match(newSerialNumber(), /^[4-7][0-9a-f]{31}$/);
  const nodeId = newNodeId();
  const { csrPem } = await createNodeKeyAndCsr();
  const serial = new NodeCertificate(await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'worker', addresses: ['10.0.0.1'] })).serialNumber;
  t.match(serial, /^[4-7][0-9A-F]{31}$/, 'as the certificate carries it');
});
