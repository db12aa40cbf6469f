import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { lockFile, tryLockFile, NetnsError } from '../src/index.js';

const lockPath = (t: Test): string => {
  const dir = mkdtempSync('/tmp/bt-lock-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return `${dir}/lock`;
};

/** A child process that takes the lock, says "held" and then waits to be killed. */
async function holdInChild(t: Test, path: string): Promise<ReturnType<typeof spawn>> {
  const moduleUrl = new URL('../dist/src/index.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `const { tryLockFile } = await import(${JSON.stringify(moduleUrl)});
     if (tryLockFile(${JSON.stringify(path)}) === null) process.exit(3);
     process.stdout.write('held\\n'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  await once(child.stdout!, 'data');
  return child;
}

t.test('a second holder in the same process is refused until the first releases', async (t) => {
  const path = lockPath(t);
  const release = tryLockFile(path);
  t.ok(release, 'first taker gets it');
  t.equal(tryLockFile(path), null, 'second taker is refused (flock is per open file description)');
  release!();
  release!();
  const again = tryLockFile(path);
  t.ok(again, 'free again after release');
  again!();
});

t.test('a lock held by a process that is SIGKILLed is free again', async (t) => {
  const path = lockPath(t);
  const child = await holdInChild(t, path);
  t.equal(tryLockFile(path), null, 'held by the child');
  await t.rejects(lockFile(path, { waitMsMax: 50 }), { code: 'ETIMEDOUT' }, 'waiting gives up with a clear error');
  child.kill('SIGKILL');
  await once(child, 'exit');
  const release = await lockFile(path, { waitMsMax: 2000 });
  t.type(release, 'function', 'taken after the holder died');
  release();
});

t.test('a lock file in a missing directory is a clear NetnsError', async (t) => {
  const error = (() => { try { tryLockFile('/tmp/bt-no-such-dir-xyz/lock'); return null; } catch (e) { return e; } })();
  t.type(error, NetnsError);
  t.match(error, { code: 'ENOENT', message: /Cannot open lock file \/tmp\/bt-no-such-dir-xyz\/lock/ });
});
