import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@berth/cni';
import { createClusterCa, newClusterId } from '../../src/cluster/ca.js';
import { buildCrl, CrlKeeper } from '../../src/cluster/crl.js';
import { revokedCollection } from '../../src/cluster/keys.js';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { Store } from '../../src/store/typed-store.js';

const ca = await createClusterCa({ clusterId: newClusterId() });

function crlText(file: string): Promise<string> {
  return new Promise((resolve, reject) => execFile('openssl', ['crl', '-in', file, '-noout', '-text'], (error, stdout) => (error === null ? resolve(stdout) : reject(error))));
}

t.test('the CRL is PEM under the X509 CRL label (what etcd parses) and lists every serial', async (t) => {
  const pem = await buildCrl(ca, [{ nodeId: 'n1', serials: ['1a2b', '3c4d'], revokedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() }]);
  t.match(pem, /^-----BEGIN X509 CRL-----\n/);
  const dir = await mkdtemp(join(tmpdir(), 'bt-crl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'crl.pem'), pem);
  const text = await crlText(join(dir, 'crl.pem'));
  t.match(text, /Serial Number: 1A2B/);
  t.match(text, /Serial Number: 3C4D/);
});

t.test('the keeper follows the denylist, and drops records whose certificates all expired', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-crl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new Store(new MemoryKvStore());
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  await store.put(revokedCollection, 'nlive', { nodeId: 'nlive', serials: ['aa01'], revokedAt: new Date().toISOString(), expiresAt: soon });
  await store.put(revokedCollection, 'ngone', { nodeId: 'ngone', serials: ['bb02'], revokedAt: new Date().toISOString(), expiresAt: new Date(Date.now() - 1_000).toISOString() });
  const file = join(dir, 'crl.pem');
  const keeper = new CrlKeeper({ store, file, loadCa: async () => ca, logger: createLogger('test', { BERTH_LOG_LEVEL: 'silent' }) });
  t.teardown(() => keeper.close());
  await keeper.start();
  const first = await crlText(file);
  t.match(first, /AA01/);
  t.notMatch(first, /BB02/, 'an expired record is left out');
  t.equal(await store.get(revokedCollection, 'ngone'), undefined, 'and deleted');
  await store.put(revokedCollection, 'nnew', { nodeId: 'nnew', serials: ['cc03'], revokedAt: new Date().toISOString(), expiresAt: soon });
  for (let waitedMs = 0; waitedMs < 3_000 && !(await readFile(file, 'utf8').then(() => crlText(file))).includes('CC03'); waitedMs += 50) await sleep(50);
  t.match(await crlText(file), /CC03/, 'a new revocation reaches the file through the watch');
});
