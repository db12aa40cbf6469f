import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsError, netnsId, pinNamespace, sameNetns, unpinNamespace } from '../src/index.js';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof NetnsError ? error.code : String(error);
  }
  return undefined;
}

t.test('pinNamespace keeps a process\'s netns after the process is gone; again is a no-op; unpin removes it', async (t) => {
  const dir = mkdtempSync('/tmp/bt-pin-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid ?? 0;
  const own = netnsId('/proc/self/ns/net');
  for (let attempt = 0; attempt < 100 && sameNetns(netnsId(`/proc/${pid}/ns/net`), own); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
  const source = `/proc/${pid}/ns/net`;
  const wanted = netnsId(source);
  const pin = join(dir, 'netns', 'c1');
  t.teardown(() => unpinNamespace(pin));
  pinNamespace(source, pin);
  pinNamespace(source, pin);
  t.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4] === pin).length, 1, 'pinned once');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  t.ok(sameNetns(netnsId(pin), wanted), 'the pin still holds the namespace after its process died');

  const other = join(dir, 'netns', 'other');
  writeFileSync(other, 'not empty');
  t.equal(codeOf(() => pinNamespace('/proc/self/ns/net', other)), 'EEXIST', 'a non-empty file is not a pin');
  t.equal(codeOf(() => pinNamespace('/proc/self/ns/net', pin)), 'EEXIST', 'a pin of another namespace is not replaced');

  unpinNamespace(pin);
  t.notOk(existsSync(pin), 'unpinned and removed');
  t.doesNotThrow(() => unpinNamespace(pin), 'unpinning again is success');
});
