import { Teardowns } from '../harness/index.js';
import type { ScenarioResult } from '../cni/runner.js';
import { ScenarioFailure } from '../cni/context.js';
import { OverlayCluster } from './cluster.js';
import { overlayScenarios, type OverlayScenario } from './scenarios.js';


/** Runs one overlay scenario in fresh namespaces and removes them afterwards; a result row for the side-by-side table. */
export async function runOverlayScenario(scenario: OverlayScenario): Promise<ScenarioResult> {
  const teardowns = new Teardowns();
  const base = { scenario: scenario.name, implementation: 'berth' };
  try {
    const note = await scenario.run({ registry: teardowns, cluster: (options) => OverlayCluster.create(teardowns, options) });
    return { ...base, passed: true, detail: note ?? '' };
  } catch (error) {
    const detail = error instanceof ScenarioFailure || error instanceof Error ? error.message : String(error);
    return { ...base, passed: false, detail: detail.replace(/\s+/g, ' ').slice(0, 500) };
  } finally {
    const failures = await teardowns.run();
    if (failures.length > 0) process.stderr.write(`overlay scenario "${scenario.name}" teardown: ${failures.join('; ')}\n`);
  }
}

export async function runOverlayConformance(scenarios: readonly OverlayScenario[] = overlayScenarios,
  onResult?: (result: ScenarioResult) => void): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const result = await runOverlayScenario(scenario);
    onResult?.(result);
    results.push(result);
  }
  return results;
}
