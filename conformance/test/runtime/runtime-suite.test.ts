import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { berthRuntimePath, buildBusyboxRootfs, formatTable, runSuite, runtimeScenarios, RuntimeUnderTest } from '../../src/runtime/index.js';

// The same lifecycle scenarios against berth-runtime and runc, side by side. runc's row is recorded as a finding;
// berth-runtime must pass every scenario (and so everything runc passes). Containers get their own netns.
t.test('runtime conformance: berth-runtime and runc through the same scenarios', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'bt-rt-'));
  await chmod(workDir, 0o711); // a user namespace's root (another host uid) must reach its rootfs
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const rootfs = await buildBusyboxRootfs(join(workDir, 'rootfs'));
  const runtimes = [
    new RuntimeUnderTest('berth-runtime', berthRuntimePath, join(workDir, 'berth-state')),
    new RuntimeUnderTest('runc', 'runc', join(workDir, 'runc-state')),
  ];
  const only = process.env['BERTH_RUNTIME_SCENARIO'];
  const scenarios = only === undefined ? runtimeScenarios : runtimeScenarios.filter((scenario) => scenario.name.includes(only));
  const rows = await runSuite({ scenarios, runtimes, workDir, rootfs });
  t.comment(`\n${formatTable(rows, runtimes.map((runtime) => runtime.name))}`);
  for (const row of rows) {
    const runc = row.outcomes.get('runc');
    if (runc !== undefined && !runc.passed) t.comment(`finding: runc fails "${row.scenario}": ${runc.message}`);
    const berth = row.outcomes.get('berth-runtime');
    t.ok(berth?.passed, `berth-runtime: ${row.scenario}${runc?.passed === false ? ' (runc fails it)' : ''}`, { failure: berth?.message ?? '' });
  }
});
