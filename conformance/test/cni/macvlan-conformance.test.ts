/**
 * The macvlan scenarios of the side-by-side CNI suite, for berth-macvlan and the reference macvlan, each exec'd as an
 * engine does inside a test host netns. Berth must pass every one; the reference's failures are findings, printed
 * in the table with their reason.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { berthImplementation, formatConformanceTable, referenceImplementation, runScenario, type ScenarioResult } from '../../src/cni/index.js';
import { macvlanScenarios } from '../../src/cni/macvlan-scenarios.js';

const results: ScenarioResult[] = [];
const implementations = [berthImplementation, ...(existsSync('/usr/lib/cni/macvlan') ? [referenceImplementation] : [])];

for (const scenario of macvlanScenarios) {
  t.test(scenario.name, async (t) => {
    for (const implementation of implementations) {
      const result = await runScenario(scenario, implementation);
      results.push(result);
      if (implementation === berthImplementation) t.ok(result.passed, `berth: ${result.detail || 'pass'}`);
      else t.ok(result.passed || result.detail.length > 0, `reference ${result.passed ? `passes ${result.detail}` : `fails (finding): ${result.detail}`}`);
    }
  });
}

t.test('side-by-side table', async (t) => {
  t.comment(`\n${formatConformanceTable(results)}`);
  t.equal(results.filter((result) => result.implementation === 'berth').length, macvlanScenarios.length, 'every scenario ran for Berth');
});
