import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, bindIntoMountNamespace, mount, umount2, NetnsError } from '../src/index.js';

/** A process in its own (private) mount namespace, killed in teardown. */
async function isolatedProcess(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  for (let attempt = 0; attempt < 100; attempt++) {
    const own = execFileSync('readlink', ['/proc/self/ns/mnt']).toString().trim();
    const its = execFileSync('readlink', [`/proc/${pid}/ns/mnt`]).toString().trim();
    if (its !== own && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') return pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('unshare did not enter a new mount namespace');
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof NetnsError ? error.code : `not a NetnsError: ${String(error)}`;
  }
  return undefined;
}

function mountPoints(pid: number): string[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '');
}

t.test('bindIntoMountNamespace attaches a tmpfs made after the namespace, read-only, without moving this thread', async (t) => {
  const dir = mkdtempSync('/tmp/bt-mntns-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'rootfs');
  mkdirSync(root);
  const pid = await isolatedProcess(t);
  const source = join(dir, 'secrets');
  mkdirSync(source);
  mount('tmpfs', source, 'tmpfs', 0, 'size=64k,mode=0700');
  t.teardown(() => umount2(source, MNT_DETACH));
  writeFileSync(join(source, 'token'), 'value-1');
  const ownBefore = readFileSync('/proc/thread-self/mountinfo', 'utf8');

  bindIntoMountNamespace({ source, targetNamespace: `/proc/${pid}/ns/mnt`, root, target: 'run/secrets' });

  t.ok(mountPoints(pid).includes(join(root, 'run/secrets')), 'mounted in the other namespace');
  t.notOk(mountPoints(process.pid).includes(join(root, 'run/secrets')), 'not in ours');
  t.equal(readFileSync('/proc/thread-self/mountinfo', 'utf8'), ownBefore, 'our mount table did not change');
  t.equal(readFileSync(`/proc/${pid}/root${root}/run/secrets/token`, 'utf8'), 'value-1', 'the file is visible there');
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((item) => item.split(' ')[4] === join(root, 'run/secrets')) ?? '';
  for (const flag of ['ro', 'nosuid', 'nodev', 'noexec']) t.ok((line.split(' ')[5] ?? '').split(',').includes(flag), `${flag}`);
  t.throws(() => writeFileSync(`/proc/${pid}/root${root}/run/secrets/other`, 'x'), /EROFS/, 'read-only inside');
});

t.test('bindIntoMountNamespace refuses a symlink on the way and bad paths, mounting nothing', async (t) => {
  const dir = mkdtempSync('/tmp/bt-mntns-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'rootfs');
  mkdirSync(root);
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(root, 'run'));
  const pid = await isolatedProcess(t);
  const before = mountPoints(pid).length;
  const options = { source: outside, targetNamespace: `/proc/${pid}/ns/mnt`, root };
  t.equal(codeOf(() => bindIntoMountNamespace({ ...options, target: 'run/secrets' })), 'ENOTDIR', 'a symlink on the way is not followed (ENOTDIR)');
  t.notOk(existsSync(join(outside, 'secrets')), 'nothing created through the symlink');
  for (const target of ['../x', '/abs', '', 'a/./b']) {
    t.equal(codeOf(() => bindIntoMountNamespace({ ...options, target })), 'EINVAL', `refuses ${JSON.stringify(target)}`);
  }
  t.equal(mountPoints(pid).length, before, 'no mount added');
});
