import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookStateJson, runHooks, type HookState } from '../../src/runtime/hooks.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-rthooks-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const state: HookState = { ociVersion: '1.0.2', id: 'c1', status: 'creating', pid: 42, bundle: dir, annotations: { a: 'b' } };

t.test('a hook gets the state on stdin, exactly its own args and env, the bundle as cwd', async (t) => {
  const out = join(dir, 'seen');
  await runHooks('prestart', [{ path: '/bin/sh', args: ['my-hook', '-c', `{ echo "$0"; pwd; } > ${out}; env -0 > ${out}.env; cat > ${out}.stdin`], env: ['ONLY=this'] }], state, dir);
  t.equal(readFileSync(out, 'utf8'), `my-hook\n${dir}\n`);
  t.equal(readFileSync(`${out}.stdin`, 'utf8'), hookStateJson(state));
  // sh adds PWD/SHLVL/_; tap's process-info hook adds NODE_OPTIONS and _TAPJS_* to whatever this test process
  // spawns (the conformance suite checks the real executable's hooks' env from outside tap).
  const env = readFileSync(`${out}.env`, 'utf8').split('\0').filter((entry) => entry !== '' && !/^(PWD|SHLVL|_|NODE_OPTIONS|_TAPJS_\w+)=/.test(entry));
  t.same(env, ['ONLY=this']);
});

t.test('failures carry runc\'s message with the hook\'s output; a timeout kills the hook', async (t) => {
  await t.rejects(runHooks('createRuntime', [{ path: '/bin/sh', args: ['sh', '-c', 'echo out; echo err >&2; exit 4'], env: [] }], state, dir),
    /^error running createRuntime hook #0: error running hook: exit status 4, stdout: out\n, stderr: err\n$/);
  const started = Date.now();
  await t.rejects(runHooks('poststop', [{ path: '/bin/sleep', args: ['sleep', '30'], env: [], timeoutSeconds: 1 }], state, dir),
    /error running poststop hook #0: hook ran past specified timeout of 1\.0s/);
  t.ok(Date.now() - started < 5_000, 'gave up at the timeout');
  await t.rejects(runHooks('prestart', [{ path: '/no/such/hook', args: [], env: [] }], state, dir), /error running prestart hook #0: error running hook: spawn \/no\/such\/hook ENOENT/);
});

t.test('a hook that leaves a daemon holding its stdout does not hang the runtime', async (t) => {
  const started = Date.now();
  await runHooks('poststart', [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 3 & exit 0'], env: [] }], state, dir);
  t.ok(Date.now() - started < 2_000, `returned when the hook exited (${Date.now() - started} ms)`);
});

t.test('the state JSON: annotations only when there are some; no pid when absent', async (t) => {
  t.equal(hookStateJson({ ociVersion: '1.0.2', id: 'x', status: 'stopped', bundle: '/b', annotations: {} }), '{"ociVersion":"1.0.2","id":"x","status":"stopped","bundle":"/b"}');
});

t.test('hooks the embedding caller takes run in its process with the state; the others are exec\'d in order', async (t) => {
  const out = join(dir, 'order');
  const seen: string[] = [];
  const takeMine = (hook: { path: string }) => (hook.path === 'mine' ? async (stateJson: string) => { seen.push(`${readFileSync(out, 'utf8').trim()} then mine`, stateJson); } : undefined);
  await runHooks('createRuntime', [
    { path: '/bin/sh', args: ['sh', '-c', `echo exec > ${out}`], env: [] },
    { path: 'mine', args: ['mine', 'createRuntime'], env: [] },
  ], state, dir, takeMine);
  t.same(seen, ['exec then mine', hookStateJson(state)], 'the exec\'d hook ran first, then the caller\'s, with the state JSON');
  await t.rejects(runHooks('poststop', [{ path: 'mine', args: [], env: [] }], state, dir, () => () => Promise.reject(new Error('berth-hook poststop: it broke'))),
    /^error running poststop hook #0: berth-hook poststop: it broke$/, 'the caller\'s failure in runc\'s message, its own line kept');
});
