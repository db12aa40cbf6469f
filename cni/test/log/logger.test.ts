import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/log/logger.js';

const token = `BRTTKN-1-${'ab'.repeat(32)}-${'cd'.repeat(16)}`;
const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const certificate = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n-----END CERTIFICATE-----';

t.test('tokens, PEM and key fields are redacted at any depth, in fields, arrays, errors and messages', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'log.jsonl');
  const logger = createLogger('test', { BERTH_LOG_FILE: file, BERTH_LOG_LEVEL: 'info' });
  const cycle: Record<string, unknown> = { name: 'cycle' };
  cycle['self'] = cycle;
  logger.info({
    request: { body: { token, hostname: 'h1', nested: { deeper: { csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nxyz\n-----END CERTIFICATE REQUEST-----' } } } },
    identity: [{ keyPem: pem }, { caPrivateKeyPem: pem, notes: `pasted ${pem} here` }],
    err: new Error(`join failed for ${token}`),
    secret: 'hunter2', password: 'swordfish', tls: { key: pem, cert: certificate },
    cycle, kept: { nodeId: 'n0123', key: '/berth/v1/cluster/hosts/n0123', count: 3 },
  }, `message with ${token} inside`);
  logger.warn(`plain text message ${pem}`);
  logger.flush();
  await sleep(100);
  const text = await readFile(file, 'utf8');
  for (const leaked of [token, 'MIGHAgEAMBMG', 'MIIBszCCAVmg', 'xyz', 'hunter2', 'swordfish', 'BEGIN PRIVATE KEY', 'BEGIN CERTIFICATE']) {
    t.notOk(text.includes(leaked), `${leaked.slice(0, 20)} does not reach the log`);
  }
  t.match(text, /"nodeId":"n0123"/, 'ordinary fields are kept');
  t.match(text, /"key":"\/berth\/v1\/cluster\/hosts\/n0123"/, 'store keys are kept');
  t.match(text, /"hostname":"h1"/);
  t.match(text, /message with \[redacted\] inside/, 'tokens in messages are replaced');
  t.equal(text.trim().split('\n').length, 2, 'both lines were written');
});
