import t from 'tap';
import { readdir } from 'node:fs/promises';
import { TestHost, diffHostState, snapshotHostState, uniqueName } from '../../src/harness/index.js';

t.test('unique names are distinct and short enough for an interface', async (t) => {
  const names = new Set(Array.from({ length: 200 }, () => uniqueName('veth')));
  t.equal(names.size, 200);
  for (const name of names) t.ok(name.length <= 15 && name.startsWith('bt-veth'), name);
});

t.test('a host and its containers exist during the test and are gone after destroy', async (t) => {
  const host = await TestHost.create(t, 'harness');
  const container = await host.addNetns('ctr');
  const pinned = await readdir('/run/netns');
  t.ok(pinned.includes(host.name) && pinned.includes(container.name), 'both namespaces are pinned');

  const links = await container.execChecked(['ip', '-o', 'link', 'show', 'lo']);
  t.match(links, /state UNKNOWN|LOOPBACK,UP/, 'loopback is up in a new namespace');
  const ping = await container.exec(['ping', '-c', '1', '-W', '1', '127.0.0.1']);
  t.equal(ping.code, 0, 'loopback answers');

  await host.destroy();
  const after = await readdir('/run/netns');
  t.notOk(after.includes(host.name) || after.includes(container.name), 'destroy removed both');
});

t.test('exec reports a failing command with its exit code instead of throwing', async (t) => {
  const host = await TestHost.create(t, 'harness');
  const result = await host.exec(['sh', '-c', 'echo oops >&2; exit 3']);
  t.equal(result.code, 3);
  t.equal(result.stderr.trim(), 'oops');
  await t.rejects(host.execChecked(['false']), /exited with 1/);
});

t.test('the leak check names what a test left behind', async (t) => {
  const before = await snapshotHostState();
  const host = await TestHost.create(t, 'leak');
  const during = await snapshotHostState();
  t.same(diffHostState(before, during), [`netns ${host.name}`]);
  await host.destroy();
  t.same(diffHostState(before, await snapshotHostState()), []);
});
