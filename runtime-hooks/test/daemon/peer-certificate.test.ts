import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createClusterCa, newClusterId } from '@berth/secrets';
import { derToPem } from '../../src/daemon/peer-certificate.js';

t.test('a DER certificate becomes PEM with no empty line, whatever its length', async (t) => {
  for (const length of [1, 47, 48, 96, 100, 48 * 20]) {
    const der = Buffer.alloc(length, 7);
    const pem = derToPem(der);
    t.notMatch(pem, /\n\n/, `${length} bytes: no empty line`);
    const body = pem.split('\n').slice(1, -2);
    t.ok(body.every((line) => line.length > 0 && line.length <= 64), `${length} bytes: lines of 1 to 64`);
    t.same(Buffer.from(body.join(''), 'base64'), der, `${length} bytes: round trip`);
  }
});

t.test('a real certificate round-trips through DER and derToPem', async (t) => {
  const ca = await createClusterCa({ clusterId: newClusterId() });
  const der = new X509Certificate(ca.certificatePem).raw;
  t.equal(new X509Certificate(derToPem(der)).fingerprint256, new X509Certificate(ca.certificatePem).fingerprint256);
});
