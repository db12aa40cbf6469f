/**
 * The CNI conformance suite, run for Berth in both modes (the shim served by a berthd in a netns of its own, and
 * berthd absent so the shim execs the Node plugin) and for the reference plugins (/usr/lib/cni), each plugin exec'd
 * as an engine does inside a test host netns. Berth must pass every scenario in both modes; the reference's failures
 * are findings, printed in the table (not assertions).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import {
  berthImplementation, CniBerthd, cniScenarios, execModeEnv, formatConformanceTable, referenceImplementation, runScenario,
  totalCalls, type CniImplementation, type ScenarioResult,
} from '../../src/cni/index.js';

const results: ScenarioResult[] = [];
const berthd = await CniBerthd.start(t);
const berthModes: CniImplementation[] = [
  { ...berthImplementation, label: 'berth/berthd', env: berthd.callerEnv },
  { ...berthImplementation, label: 'berth/exec', env: await execModeEnv(t) },
];
const hasReference = existsSync('/usr/lib/cni/bridge');

for (const scenario of cniScenarios) {
  t.test(scenario.name, async (t) => {
    for (const implementation of berthModes) {
      const result = await runScenario(scenario, implementation);
      results.push(result);
      t.ok(result.passed, `${implementation.label}: ${result.detail || 'pass'}`);
    }
    if (!hasReference) return;
    const reference = await runScenario(scenario, referenceImplementation);
    results.push(reference);
    if (!reference.passed) t.comment(`finding: the reference fails ${scenario.name}: ${reference.detail}`);
  });
}

t.test('every call of the berthd mode was served by berthd', async (t) => {
  const stats = await berthd.stats();
  t.ok(totalCalls(stats.served) > cniScenarios.length, `berthd served ${totalCalls(stats.served)} calls`);
  t.same(stats.declined, {}, 'none declined (declined calls are exec\'d by the shim)');
  t.equal(stats.abandoned, 0, 'none abandoned by a shim that gave up waiting');
});

t.test('side-by-side table', async (t) => {
  t.comment(`\n${formatConformanceTable(results)}`);
  for (const { label } of berthModes) {
    t.equal(results.filter((result) => result.implementation === label).length, cniScenarios.length, `every scenario ran for ${label}`);
  }
});
