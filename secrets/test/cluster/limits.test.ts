import t from 'tap';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile, chmod, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceRateLimiter } from '../../src/cluster/rate-limit.js';
import { renewalDueAt } from '../../src/cluster/renewal.js';
import { assertOwnDirectory, writeFileDurably } from '../../src/cluster/secure-file.js';

t.test('the per-source rate limit: a window per address, others unaffected, bounded table', async (t) => {
  let nowMs = 0;
  const limiter = new SourceRateLimiter({ requestsMax: 3, windowMs: 1_000, sourcesMax: 2, now: () => nowMs });
  t.same([1, 2, 3, 4].map(() => limiter.admit('10.0.0.1')), [true, true, true, false], 'the fourth request in a window is refused');
  t.ok(limiter.admit('10.0.0.2'), 'another address has its own window');
  nowMs = 1_000;
  t.ok(limiter.admit('10.0.0.1'), 'a new window admits again');
  t.ok(limiter.admit('10.0.0.3'), 'a full table makes room');
  t.throws(() => new SourceRateLimiter({ requestsMax: 0, windowMs: 1 }), RangeError);
});

t.test('renewal is due at two thirds of the life', async (t) => {
  t.equal(renewalDueAt(new Date(0), new Date(90_000)).getTime(), 60_000);
  t.equal(renewalDueAt(new Date('2026-01-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z')).toISOString(), '2026-03-02T00:00:00.000Z');
});

t.test('key files: a link planted at the target is replaced, not followed; no temporary file is left', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const victim = join(dir, 'victim');
  await writeFile(victim, 'precious');
  const target = join(dir, 'node.key');
  await symlink(victim, target);
  await writeFileDurably(target, 'key material');
  t.equal(await readFile(victim, 'utf8'), 'precious', 'the link target is untouched');
  t.ok((await lstat(target)).isFile(), 'the target is now a regular file');
  t.equal((await lstat(target)).mode & 0o777, 0o600, 'mode 0600');
  t.same((await readdir(dir)).sort(), ['node.key', 'victim'], 'no temporary file left');
});

t.test('state directories with a wrong owner or mode are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await assertOwnDirectory(join(dir, 'missing'), { private: true });
  t.pass('a missing directory is fine');
  const open = join(dir, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  await t.rejects(assertOwnDirectory(open, { private: false }), /mode 0777 lets other users write/);
  const readable = join(dir, 'readable');
  await mkdir(readable, { mode: 0o755 });
  await chmod(readable, 0o755);
  await assertOwnDirectory(readable, { private: false });
  await t.rejects(assertOwnDirectory(readable, { private: true }), /lets other users in; chmod 700/);
  const foreign = join(dir, 'foreign');
  await mkdir(foreign, { mode: 0o700 });
  await chown(foreign, 65_534, 65_534);
  await t.rejects(assertOwnDirectory(foreign, { private: true }), /owned by uid 65534/);
  const link = join(dir, 'link');
  await symlink(readable, link);
  await t.rejects(assertOwnDirectory(link, { private: false }), /not a directory/);
});
