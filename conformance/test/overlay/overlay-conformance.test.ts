/**
 * The multi-host overlay suite: three simulated hosts on a bridged underlay, containers on one berth-vxlan network.
 * No reference VXLAN plugin exists in Debian, so the table has Berth's column only.
 */
import t from 'tap';
import { formatConformanceTable, type ScenarioResult } from '../../src/cni/index.js';
import { overlayScenarios, runOverlayScenario } from '../../src/overlay/index.js';

const results: ScenarioResult[] = [];

for (const scenario of overlayScenarios) {
  t.test(scenario.name, async (t) => {
    const result = await runOverlayScenario(scenario);
    results.push(result);
    t.ok(result.passed, `berth: ${result.detail || 'pass'}`);
  });
}

t.test('table', async (t) => {
  t.comment(`\n${formatConformanceTable(results)}`);
  t.equal(results.length, overlayScenarios.length, 'every scenario ran');
});
