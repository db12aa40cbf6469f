import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/hooks/main.js';

t.test('berth-hook refuses a missing or unknown stage before reading stdin or touching anything', async (t) => {
  const root = mkdtempSync('/tmp/bt-hookmain-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    t.equal(await main([], { BERTH_ROOT: root }), 2);
    t.equal(await main(['prestart'], { BERTH_ROOT: root }), 2);
  } finally {
    process.stderr.write = write;
  }
  t.same(written, Array(2).fill('berth-hook: expected one argument, the stage: createRuntime, createContainer, poststop (or gc)\n'));
  t.throws(() => readFileSync(join(root, 'logs', 'hook.log')), { code: 'ENOENT' }, 'not even a log file');
});
