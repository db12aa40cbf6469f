import t from 'tap';
import { mkdtempSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, mount, umount2 } from '../src/index.js';

/** The mountinfo line for `target` in this process's mount namespace, if it is a mount point. */
function mountInfo(target: string): { fstype: string; options: string[]; superOptions: string[] } | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    const fields = pre?.split(' ') ?? [];
    if (fields[4] !== target || post === undefined) continue;
    const [fstype, , superOptions] = post.split(' ');
    return { fstype: fstype ?? '', options: (fields[5] ?? '').split(','), superOptions: (superOptions ?? '').split(',') };
  }
  return undefined;
}

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync('/tmp/bt-mnt-');
  t.teardown(() => {
    try { umount2(dir, MNT_DETACH); } catch { /* not mounted: the test unmounted it already */ }
    rmdirSync(dir);
  });
  return dir;
}

t.test('mount and umount2 a size-capped tmpfs with nosuid,nodev,noexec', async (t) => {
  const dir = tempDir(t);
  mount('tmpfs', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'size=1m,mode=0700');
  const info = mountInfo(dir);
  t.equal(info?.fstype, 'tmpfs');
  for (const option of ['nosuid', 'nodev', 'noexec']) t.ok(info?.options.includes(option), `mounted ${option}`);
  t.ok(info?.superOptions.includes('size=1024k'), `size cap applied (${info?.superOptions.join(',')})`);
  writeFileSync(join(dir, 'file'), 'x');
  t.ok(existsSync(join(dir, 'file')));
  umount2(dir, 0);
  t.equal(mountInfo(dir), undefined, 'unmounted');
  t.notOk(existsSync(join(dir, 'file')), 'the file lived on the tmpfs');
});

t.test('mount and umount2 errors carry the errno name, syscall and path', async (t) => {
  const dir = tempDir(t);
  t.throws(() => umount2(dir, 0), { name: 'NetnsError', code: 'EINVAL', syscall: 'umount2', path: dir, message: new RegExp(dir) });
  t.throws(() => umount2(join(dir, 'missing'), 0), { code: 'ENOENT' });
  t.throws(() => mount('none', dir, 'bt-no-such-fs', 0), { code: 'ENODEV', syscall: 'mount' });
  t.throws(() => mount('tmpfs', join(dir, 'missing'), 'tmpfs', 0), { code: 'ENOENT' });
  t.throws(() => mount('tmpfs', dir, 'tmpfs', -1), TypeError);
  t.equal(mountInfo(dir), undefined, 'nothing got mounted');
});
