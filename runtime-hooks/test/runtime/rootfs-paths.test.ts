import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '../../src/runtime/errors.js';
import { resolveInRootfs, resolveRootfs } from '../../src/runtime/rootfs-paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-rtpaths-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, 'bundle');
const rootfs = join(bundle, 'rootfs');
mkdirSync(join(rootfs, 'etc'), { recursive: true });
mkdirSync(join(rootfs, 'run'));
mkdirSync(join(dir, 'outside'));
symlinkSync('/run', join(rootfs, 'var-run'));            // absolute: resolved from the container's root
symlinkSync('../etc', join(rootfs, 'run', 'etc-link'));  // relative, stays inside
symlinkSync('../../../outside', join(rootfs, 'escape'));  // relative, climbs out of the rootfs
symlinkSync('/../../outside', join(rootfs, 'abs-escape'));
symlinkSync('loop-b', join(rootfs, 'loop-a'));
symlinkSync('loop-a', join(rootfs, 'loop-b'));
symlinkSync(join(dir, 'outside'), join(bundle, 'rootfs-elsewhere'));

t.test('destinations resolve inside the rootfs as the container sees them', async (t) => {
  t.equal(resolveInRootfs(rootfs, '/etc/hosts', 'f'), join(rootfs, 'etc/hosts'));
  t.equal(resolveInRootfs(rootfs, '/var-run/secrets', 'f'), join(rootfs, 'run/secrets'));
  t.equal(resolveInRootfs(rootfs, '/run/etc-link/x', 'f'), join(rootfs, 'etc/x'));
  t.equal(resolveInRootfs(rootfs, '/new/dir/here', 'f'), join(rootfs, 'new/dir/here'));
  t.equal(resolveInRootfs(rootfs, '/', 'f'), rootfs);
});

t.test('a symlink that climbs out of the rootfs is refused, naming the field', async (t) => {
  t.throws(() => resolveInRootfs(rootfs, '/escape/x', 'mounts[2].destination'), new SpecError('mounts[2].destination', '/escape/x: a symlink in it escapes the rootfs'));
  t.throws(() => resolveInRootfs(rootfs, '/abs-escape/x', 'f'), SpecError);
  t.throws(() => resolveInRootfs(rootfs, '/loop-a/x', 'f'), /too many levels of symlinks/);
});

t.test('the rootfs: relative paths stay in the bundle, symlinks included', async (t) => {
  t.equal(resolveRootfs(bundle, 'rootfs'), rootfs);
  t.throws(() => resolveRootfs(bundle, 'rootfs-elsewhere'), /root\.path: rootfs-elsewhere is a symlink that escapes the bundle/);
  t.throws(() => resolveRootfs(bundle, 'missing'), /root\.path: .* does not exist/);
  t.equal(resolveRootfs(bundle, join(dir, 'outside')), join(dir, 'outside'), 'an absolute rootfs elsewhere is the caller\'s choice');
});
