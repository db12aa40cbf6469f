/**
 * The CNI conformance suite, run for Berth (cni/bin, "berth-") and the reference plugins (/usr/lib/cni), each plugin
 * exec'd as an engine does inside a test host netns. Berth must pass every scenario; the reference's failures are
 * findings, recorded in the printed table (and asserted to be reported with a reason, not silently skipped).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import {
  berthImplementation, cniScenarios, formatConformanceTable, referenceImplementation, runScenario, type ScenarioResult,
} from '../../src/cni/index.js';

const results: ScenarioResult[] = [];
const implementations = [berthImplementation, ...(existsSync('/usr/lib/cni/bridge') ? [referenceImplementation] : [])];

for (const scenario of cniScenarios) {
  t.test(scenario.name, async (t) => {
    for (const implementation of implementations) {
      const result = await runScenario(scenario, implementation);
      results.push(result);
      if (implementation === berthImplementation) {
        t.ok(result.passed, `berth: ${result.detail || 'pass'}`);
      } else {
        t.ok(result.passed || result.detail.length > 0, `reference ${result.passed ? 'passes' : `fails (finding): ${result.detail}`}`);
      }
    }
  });
}

t.test('side-by-side table', async (t) => {
  const table = formatConformanceTable(results);
  t.comment(`\n${table}`);
  t.equal(results.filter((result) => result.implementation === 'berth').length, cniScenarios.length, 'every scenario ran for Berth');
});
