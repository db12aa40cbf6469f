import t from 'tap';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeHosts } from './helpers.js';

t.test('the cluster key reaches a joining manager in the join answer (in memory only when autolocked); a locked manager admits no manager', async (t) => {
  const hosts = await makeHosts(t);
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => hosts.add(name)));
  if (a === undefined || b === undefined || c === undefined) throw new Error('hosts');
  await Promise.all([a, b, c].map((host) => host.start()));
  t.equal((await a.cli(['cluster', 'init', '-o', 'json'])).code, 0, 'init');
  const managerToken = (await a.cli(['cluster', 'join-token', 'manager', '-q'])).stdout.trim();
  await a.api('POST', '/v1/secrets', { name: 'shared', value: Buffer.from('shared-value').toString('base64') });
  const autolock = await a.api('POST', '/v1/cluster/update', { autolock: true }) as { unlockKey: string };

  const joined = await b.join(managerToken, a.joinAddress);
  t.equal(joined.code, 0, joined.stderr);
  t.match(await b.api('GET', '/v1/cluster/keys'), { state: 'unlocked', autolock: true }, 'the new manager holds the cluster key');
  t.equal(await stat(join(b.root, 'cluster', 'cluster.key')).catch(() => undefined), undefined, 'only in memory: the cluster is autolocked');
  t.equal(await b.api('POST', '/v1/cluster/unlock-key', {}).then((answer) => (answer as { unlockKey: string }).unlockKey), autolock.unlockKey, 'and can show the unlock key');
  await b.api('POST', '/v1/secrets/shared/rotate', { value: Buffer.from('rotated-on-b').toString('base64') });

  a.process.kill('SIGKILL');
  await a.exited();
  await a.start();
  t.match(await a.api('GET', '/v1/cluster/keys'), { state: 'locked' }, 'the restarted first manager is locked');
  const refused = await c.join(managerToken, a.joinAddress);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /locked.*cannot admit managers/, `a locked manager refuses a manager join: ${refused.stderr.trim()}`);
  t.equal(await stat(join(c.root, 'cluster')).catch(() => undefined), undefined, 'nothing half-joined');
  await a.cli(['cluster', 'unlock'], autolock.unlockKey);
  t.match(await a.api('GET', '/v1/secrets/shared'), { current: 2 }, 'unlocked, it serves the rotation made on the other manager');
});
