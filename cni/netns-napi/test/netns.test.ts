import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  NetnsError, createNamedNetns, currentNetnsId, deleteNamedNetns, netnsId, sameNetns, withNetns,
} from '../src/index.js';

const uniqueName = (tag: string): string => `bt-${tag}-${randomBytes(4).toString('hex')}`;
const ipNetnsList = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ')[0] ?? '');
const threadNetns = () => netnsId('/proc/thread-self/ns/net');

/** A named netns that teardown removes even if the test fails half-way. */
function namedNetns(t: { teardown(fn: () => unknown): void }, tag: string): { name: string; path: string } {
  const name = uniqueName(tag);
  t.teardown(() => deleteNamedNetns(name));
  return { name, path: createNamedNetns(name) };
}

t.test('createNamedNetns pins a netns that ip netns sees; deleteNamedNetns removes it', async (t) => {
  const before = currentNetnsId();
  const { name, path } = namedNetns(t, 'nn');
  t.equal(path, `/run/netns/${name}`);
  t.ok(ipNetnsList().includes(name), 'ip netns list shows the new netns');
  t.notOk(sameNetns(netnsId(path), before), 'the pinned netns is a new one');
  t.ok(sameNetns(currentNetnsId(), before), 'the calling thread stayed in its netns');
  // ip can use it: a fresh netns has only lo.
  const links = execFileSync('ip', ['-n', name, '-o', 'link', 'show'], { encoding: 'utf8' });
  t.match(links, /^1: lo:/);
  t.equal(links.trim().split('\n').length, 1, 'only lo in the new netns');

  deleteNamedNetns(name);
  t.notOk(existsSync(path), 'the pin file is gone');
  t.notOk(ipNetnsList().includes(name), 'ip netns list no longer shows it');
  t.doesNotThrow(() => deleteNamedNetns(name), 'deleting a missing netns is success');
});

t.test('createNamedNetns rejects an existing name with EEXIST', async (t) => {
  const { name, path } = namedNetns(t, 'dup');
  const id = netnsId(path);
  t.throws(() => createNamedNetns(name), { name: 'NetnsError', code: 'EEXIST', message: /already exists/ });
  t.ok(sameNetns(netnsId(path), id), 'the existing netns is untouched');
});

t.test('createNamedNetns and deleteNamedNetns reject invalid names with EINVAL', async (t) => {
  const hostile = ['', '.', '..', 'a/b', '../etc', '/run/netns/x', 'x'.repeat(65), 'a b', 'bt-\n', 'bt-ä', 'a\0b', '*'];
  for (const name of hostile) {
    t.throws(() => createNamedNetns(name), { code: 'EINVAL', syscall: 'validate' }, `create ${JSON.stringify(name)}`);
    t.throws(() => deleteNamedNetns(name), { code: 'EINVAL' }, `delete ${JSON.stringify(name)}`);
  }
  t.notOk(existsSync('/run/netns/a b'), 'nothing was created for a rejected name');
  const longest = uniqueName('x').padEnd(64, 'x');
  t.teardown(() => deleteNamedNetns(longest));
  t.equal(createNamedNetns(longest), `/run/netns/${longest}`, 'a 64-character name is accepted');
});

t.test('withNetns runs fn inside the netns and restores the thread afterwards', async (t) => {
  const { path } = namedNetns(t, 'in');
  const original = threadNetns();
  const inside = withNetns(path, () => {
    // /proc/thread-self/net reflects the thread's netns: a new netns lists only lo.
    const devices = readFileSync('/proc/thread-self/net/dev', 'utf8');
    return { id: threadNetns(), hasLoOnly: !/eth0|veth/.test(devices) && /\blo:/.test(devices) };
  });
  t.ok(sameNetns(inside.id, netnsId(path)), 'fn ran in the target netns');
  t.ok(inside.hasLoOnly, 'fn saw the target netns devices');
  t.ok(sameNetns(threadNetns(), original), 'restored after fn returned');
});

t.test('withNetns restores the netns when fn throws and rethrows the same error', async (t) => {
  const { path } = namedNetns(t, 'throw');
  const original = threadNetns();
  const boom = new Error('boom');
  let seenInside = false;
  t.throws(() => withNetns(path, () => { seenInside = sameNetns(threadNetns(), netnsId(path)); throw boom; }), boom);
  t.ok(seenInside, 'fn did run inside');
  t.ok(sameNetns(threadNetns(), original), 'restored after the throw');
});

t.test('withNetns refuses an async fn after restoring', async (t) => {
  const { path } = namedNetns(t, 'async');
  const original = threadNetns();
  t.throws(() => withNetns(path, async () => 1), { name: 'TypeError', message: /must be synchronous/ });
  t.throws(() => withNetns(path, () => Promise.reject(new Error('late'))), TypeError);
  t.ok(sameNetns(threadNetns(), original), 'restored');
});

t.test('withNetns nests and restores each level', async (t) => {
  const a = namedNetns(t, 'na');
  const b = namedNetns(t, 'nb');
  const original = threadNetns();
  const seen = withNetns(a.path, () => {
    const inB = withNetns(b.path, () => threadNetns());
    return { inB, backInA: threadNetns() };
  });
  t.ok(sameNetns(seen.inB, netnsId(b.path)), 'inner ran in b');
  t.ok(sameNetns(seen.backInA, netnsId(a.path)), 'back in a after the inner call');
  t.ok(sameNetns(threadNetns(), original), 'back in the original netns');
});

t.test('withNetns and netnsId report a missing or non-netns path as NetnsError', async (t) => {
  const original = threadNetns();
  const missing = `/run/netns/${uniqueName('missing')}`;
  let ran = false;
  t.throws(() => withNetns(missing, () => { ran = true; }), { name: 'NetnsError', code: 'ENOENT', path: missing, message: new RegExp(missing) });
  t.throws(() => netnsId(missing), { code: 'ENOENT' });
  const notNs = '/proc/thread-self/ns/uts';
  t.throws(() => withNetns(notNs, () => { ran = true; }), { code: 'EINVAL', syscall: 'setns', message: /setns\(\/proc/ });
  t.throws(() => withNetns('/etc/hostname', () => { ran = true; }), NetnsError);
  t.notOk(ran, 'fn never ran');
  t.ok(sameNetns(threadNetns(), original), 'still in the original netns');
});
