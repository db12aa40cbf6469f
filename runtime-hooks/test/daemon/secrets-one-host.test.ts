import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnv, makeHosts, waitFor, type BerthdHandle } from './helpers.js';

interface TaskAnswer { containerId: string; secretsDir: string; secrets: string[] }

const value = (label: string, bytes = 4096): string => `${label}:${randomBytes(bytes / 2).toString('hex')}`.slice(0, bytes);
const base64 = (text: string): string => Buffer.from(text).toString('base64');

async function apiError(host: BerthdHandle, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ code: string; message: string }> {
  try {
    await host.api(method, path, body);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`${method} ${path} succeeded`);
}

async function mountOptions(dir: string): Promise<string | undefined> {
  const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((entry) => entry.split(' ')[4] === dir);
  return line;
}

t.test('one host: tasks get their secrets on tmpfs, rotations land whole, rollback, revoke, rm guard, deregister', async (t) => {
  const hosts = await makeHosts(t);
  const host = await hosts.add('s');
  await host.start();
  t.match(await apiError(host, 'POST', '/v1/tasks', { containerId: 'c0', service: 'web', labels: {} }), { code: 'NOT_IN_CLUSTER' }, 'no cluster: 409 NOT_IN_CLUSTER');
  t.equal((await host.cli(['cluster', 'init'])).code, 0);

  const first = value('first');
  const created = await host.cli(['secret', 'create', 'db.password', '-', '--label', 'team=payments'], first);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /Secret db\.password created \(version 1\)/);
  const granted = await host.cli(['secret', 'grant', 'db.password', 'web', '--target', 'db', '--uid', '1000', '--gid', '1001', '--mode', '0440']);
  t.equal(granted.code, 0, granted.stderr);

  const task = await host.api('POST', '/v1/tasks', { containerId: 'c1', service: 'web', labels: { tier: 'front' } }) as TaskAnswer;
  t.same(task, { containerId: 'c1', secretsDir: join(host.runDir, 'secrets', 'c1'), secrets: ['db'] }, 'the answer names the dir and the files');
  const file = join(task.secretsDir, 'db');
  t.equal(await readFile(file, 'utf8'), first, 'the file is in place when the answer comes');
  const info = await stat(file);
  t.same([info.mode & 0o777, info.uid, info.gid], [0o440, 1000, 1001], 'mode and owners from the grant');
  const mount = await mountOptions(task.secretsDir);
  t.match(mount, /nosuid,nodev,noexec.* - tmpfs tmpfs .*size=16384k,mode=700/, `its own tmpfs: ${mount ?? 'not mounted'}`);
  t.same(await host.api('GET', '/v1/tasks'), [{ containerId: 'c1', service: 'web', labels: { tier: 'front' }, secretsDir: task.secretsDir, secrets: ['db'] }]);

  // rotations while a reader loops: every read is one whole value that was written
  const written = new Set([first]);
  let reads = 0;
  let mixed = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const seen = await readFile(file, 'utf8');
      reads += 1;
      if (!written.has(seen)) mixed += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const landMs: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    const next = value(`rotation-${i}`, 1024 * (1 + i * 40));
    written.add(next);
    const rotated = await host.api('POST', '/v1/secrets/db.password/rotate', { value: base64(next) });
    t.same(rotated, { name: 'db.password', version: i + 2 });
    const returned = Date.now();
    await waitFor(`rotation ${i} lands`, async () => (await readFile(file, 'utf8')) === next, 5_000, 2);
    landMs.push(Date.now() - returned);
  }
  reading = false;
  await reader;
  t.equal(mixed, 0, `${reads} reads during 8 rotations, each saw one whole value`);
  t.ok(reads > 8, 'the reader ran during the rotations');
  t.comment(`rotate returned -> new file in place: max ${Math.max(...landMs)} ms (${landMs.join(', ')})`);

  // berthd SIGKILLed with a running container: the tmpfs outlives it, the restarted berthd picks the task up again
  host.process.kill('SIGKILL');
  await host.exited();
  await host.start();
  t.match(await host.api('GET', '/v1/tasks'), [{ containerId: 'c1', service: 'web' }], 'the task survives a berthd SIGKILL');
  t.same(await host.api('POST', '/v1/secrets/db.password/rollback', { to: 1 }), { name: 'db.password', version: 1, from: 9 });
  await waitFor('rollback lands', async () => (await readFile(file, 'utf8')) === first, 5_000);

  const other = await host.api('POST', '/v1/tasks', { containerId: 'c2', service: 'api', labels: {} }) as TaskAnswer;
  t.same(other.secrets, [], 'a service without grants gets an empty dir');
  t.same((await readdir(other.secretsDir)).filter((name) => !name.startsWith('..v')), ['..data']);

  const refused = await host.cli(['secret', 'rm', 'db.password']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /in use by 1 running container\(s\) of service web.*--force/, 'rm refused while granted to a running container');
  await host.api('DELETE', '/v1/secrets/db.password/grants/web');
  await waitFor('revoked file disappears', async () => (await stat(file).catch(() => undefined)) === undefined, 5_000);
  t.ok(await mountOptions(task.secretsDir), 'the tmpfs stays while the container runs');

  await host.api('POST', '/v1/secrets/db.password/grants', { service: 'web' });
  await waitFor('granted again', async () => (await readFile(join(task.secretsDir, 'db.password'), 'utf8').catch(() => '')) === first, 5_000);
  t.same(await host.api('DELETE', '/v1/secrets/db.password?force=true'), { name: 'db.password', removed: true }, 'rm --force');
  await waitFor('removed secret disappears', async () => (await stat(join(task.secretsDir, 'db.password')).catch(() => undefined)) === undefined, 5_000);

  const history = JSON.parse((await host.cli(['secret', 'history', 'db.password', '-o', 'json'])).stdout) as Array<{ action: string; uid?: number }>;
  t.same(history.map((entry) => entry.action), ['create', 'grant', ...Array(8).fill('rotate'), 'rollback', 'revoke', 'grant', 'rm']);
  t.ok(history.every((entry) => entry.uid === 0), 'the caller uid (SO_PEERCRED) is recorded');

  t.same(await host.api('DELETE', '/v1/tasks/c1'), { containerId: 'c1', removed: true });
  t.equal(await mountOptions(task.secretsDir), undefined, 'unmounted');
  t.equal(await stat(task.secretsDir).catch(() => undefined), undefined, 'dir gone');
  t.same(await host.api('DELETE', '/v1/tasks/c1'), { containerId: 'c1', removed: true }, 'deregistration is idempotent');
  await host.api('DELETE', '/v1/tasks/c2');

  const metrics = await new Promise<string>((resolve) => {
    const child = spawn('curl', ['-sS', '--unix-socket', host.socket, 'http://berthd/metrics']);
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.on('exit', () => resolve(text));
  });
  for (const line of [/berth_secrets 0/, /berth_secret_rotations_total \d+/, /berth_secret_deliveries_total \d+/, /berth_secret_delivery_lag_ms_count \d+/, /berth_secrets_unlocked\{state="unlocked"\} 1/]) t.match(metrics, line);
  t.notOk(metrics.includes(first.slice(0, 20)), 'no value in metrics');
});

t.test('one host: bad input gets a clear error and stores nothing; another uid cannot connect; autolock restart stays locked until unlocked', async (t) => {
  const hosts = await makeHosts(t);
  const host = await hosts.add('b');
  await host.start();
  await host.cli(['cluster', 'init']);
  const keep = value('keep');
  await host.api('POST', '/v1/secrets', { name: 'keep', value: base64(keep) });
  await host.api('POST', '/v1/secrets/keep/grants', { service: 'web' });

  const big = join(hosts.base, 'big');
  await writeFile(big, Buffer.alloc(500 * 1024 + 1, 0x61));
  const cliCases: Array<[string, string[], string | undefined, RegExp]> = [
    ['oversize file', ['secret', 'create', 'big', big], undefined, /larger than the limit of 512000 bytes/],
    ['oversize stdin', ['secret', 'create', 'big', '-'], 'b'.repeat(500 * 1024 + 1), /larger than the limit of 512000 bytes/],
    ['unknown service', ['secret', 'revoke', 'keep', 'nosuch'], undefined, /not granted to service nosuch/],
    ['bad mode', ['secret', 'grant', 'keep', 'web', '--mode', '0999'], undefined, /Invalid mode/],
  ];
  for (const [name, args, input, message] of cliCases) {
    const result = await host.cli(args, input);
    t.equal(result.code, 1, `${name}: exit 1`);
    t.match(result.stderr, message, `${name}: ${result.stderr.trim()}`);
  }
  const apiCases: Array<[string, 'POST' | 'DELETE', string, unknown, string]> = [
    ['bad name', 'POST', '/v1/secrets', { name: '.hidden', value: 'eA==' }, 'SECRET_INVALID'],
    ['name with a slash', 'POST', '/v1/secrets', { name: 'a/b', value: 'eA==' }, 'SECRET_INVALID'],
    ['bad uid', 'POST', '/v1/secrets/keep/grants', { service: 'web', uid: -1 }, 'SECRET_INVALID'],
    ['bad autolock value', 'POST', '/v1/cluster/update', { autolock: 'maybe' }, 'SECRET_INVALID'],
    ['empty value', 'POST', '/v1/secrets', { name: 'empty', value: '' }, 'SECRET_INVALID'],
    ['oversize value', 'POST', '/v1/secrets', { name: 'big', value: base64('c'.repeat(500 * 1024 + 1)) }, 'SECRET_TOO_LARGE'],
    ['unknown secret', 'POST', '/v1/secrets/nope/rotate', { value: 'eA==' }, 'SECRET_NOT_FOUND'],
    ['unknown secret grant', 'POST', '/v1/secrets/nope/grants', { service: 'web' }, 'SECRET_NOT_FOUND'],
    ['writable mode', 'POST', '/v1/secrets/keep/grants', { service: 'web', mode: 0o666 }, 'SECRET_INVALID'],
    ['target named like the writer\'s own', 'POST', '/v1/secrets/keep/grants', { service: 'web', target: '..data' }, 'SECRET_INVALID'],
    ['rollback past the first', 'POST', '/v1/secrets/keep/rollback', {}, 'SECRET_VERSION_NOT_FOUND'],
    ['unlock when not locked', 'POST', '/v1/cluster/unlock', { key: `BRTULK-1-${'0'.repeat(64)}` }, 'CLUSTER_NOT_LOCKED'],
    ['unlock-key without autolock', 'POST', '/v1/cluster/unlock-key', {}, 'AUTOLOCK_OFF'],
    ['hostile container id', 'POST', '/v1/tasks', { containerId: '../../etc', service: 'web', labels: {} }, 'TASK_INVALID'],
    ['missing service', 'POST', '/v1/tasks', { containerId: 'c1' }, 'TASK_INVALID'],
    ['unknown task field', 'POST', '/v1/tasks', { containerId: 'c1', service: 'web', extra: 1 }, 'TASK_INVALID'],
    ['hostile id on delete', 'DELETE', '/v1/tasks/.hidden', undefined, 'TASK_INVALID'],
    ['value not base64', 'POST', '/v1/secrets', { name: 'x', value: 'not base64!' }, 'SECRET_INVALID'],
    ['unknown secret field', 'POST', '/v1/secrets', { name: 'x', value: 'eA==', owner: 'me' }, 'SECRET_INVALID'],
    ['bad label', 'POST', '/v1/secrets', { name: 'x', value: 'eA==', labels: { 'a b': 'c' } }, 'SECRET_INVALID'],
  ];
  for (const [name, method, path, body, code] of apiCases) t.match(await apiError(host, method, path, body), { code }, name);
  const listed = JSON.parse((await host.cli(['secret', 'ls', '-o', 'json'])).stdout) as Array<{ name: string; latest: number }>;
  t.same(listed.map((s) => [s.name, s.latest]), [['keep', 1]], 'nothing else stored');
  t.same(await host.api('GET', '/v1/tasks'), [], 'no task left');
  t.same(await readdir(join(host.runDir, 'secrets')).catch(() => []), [], 'no tmpfs left');

  const refused = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', `require('node:net').createConnection(${JSON.stringify(host.socket)}).on('error', (e) => { process.stderr.write(e.code); process.exit(3); }).on('connect', () => process.exit(0));`], {
      uid: 65_534, gid: 65_534, env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  t.same(refused, { code: 3, stderr: 'EACCES' }, 'uid 65534 cannot reach the secrets API');

  // autolock: the key leaves the disk; after a restart nothing is served until `unlock`
  const locked = await host.cli(['cluster', 'update', '--autolock=true', '-o', 'json']);
  t.equal(locked.code, 0, locked.stderr);
  const unlockKey = (JSON.parse(locked.stdout) as { unlockKey: string }).unlockKey;
  t.match(unlockKey, /^BRTULK-1-[0-9a-f]{64}$/);
  t.equal(await stat(join(host.root, 'cluster', 'cluster.key')).catch(() => undefined), undefined, 'no cluster key on disk');
  host.process.kill('SIGTERM');
  await host.exited();
  await host.start();
  const ls = await host.cli(['secret', 'ls']);
  t.equal(ls.code, 1);
  t.match(ls.stderr, /locked.*berth cluster unlock/, `locked after restart: ${ls.stderr.trim()}`);
  t.match(await apiError(host, 'GET', '/v1/secrets/keep'), { code: 'CLUSTER_LOCKED' }, 'inspect refused too');
  const task = await apiError(host, 'POST', '/v1/tasks', { containerId: 'c9', service: 'web', labels: {} });
  t.match(task, { code: 'SECRETS_UNAVAILABLE' }, `a container of a granted service cannot start without its secrets: ${task.message}`);
  t.same(await host.api('GET', '/v1/tasks'), [], 'the failed registration left no task');
  t.same(await readdir(join(host.runDir, 'secrets')).catch(() => []), [], 'and no tmpfs');
  const keyFile = join(hosts.base, 'unlock.key');
  await writeFile(keyFile, `BRTULK-1-${'1'.repeat(64)}\n`, { mode: 0o600 });
  const wrong = await host.cli(['cluster', 'unlock', '--key-file', keyFile]);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /unlock key was rejected/);
  t.match(await apiError(host, 'GET', '/v1/secrets'), { code: 'CLUSTER_LOCKED' }, 'still locked after a wrong key');
  const unlocked = await host.cli(['cluster', 'unlock'], `${unlockKey}\n`);
  t.equal(unlocked.code, 0, unlocked.stderr);
  t.match(await host.api('GET', '/v1/secrets'), [{ name: 'keep' }], 'serves again once unlocked');
  const largest = Buffer.alloc(500 * 1024, 0x5a);
  largest.write(keep.slice(0, 32));
  await host.api('POST', '/v1/secrets', { name: 'largest', value: largest.toString('base64') });
  await host.api('POST', '/v1/secrets/largest/grants', { service: 'web' });
  const registered = await host.api('POST', '/v1/tasks', { containerId: 'c9', service: 'web', labels: {} }) as TaskAnswer;
  t.equal(await readFile(join(registered.secretsDir, 'keep'), 'utf8'), keep);
  t.ok((await readFile(join(registered.secretsDir, 'largest'))).equals(largest), 'a secret of exactly 500 KiB goes all the way');
  await host.api('DELETE', '/v1/tasks/c9');
  const audit = await host.api('GET', '/v1/cluster/audit') as Array<{ action: string }>;
  t.match(audit.map((entry) => entry.action), ['create', 'grant', 'autolock', 'unlock-refused', 'unlock', 'create', 'grant'], 'key events are audited');
});
