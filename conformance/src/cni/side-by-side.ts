/**
 * A side-by-side CNI suite as tap tests: every scenario for Berth in both modes (the shim served by a berthd in a
 * netns of its own, and exec'd without one) and for the reference plugins. Berth must pass every scenario in both
 * modes; the reference's failures are findings, printed (never assertions that cannot fail). Then: every call of the
 * berthd mode was served by berthd, and the table.
 */
import type { Test } from 'tap';
import { berthImplementation, referenceImplementation, type CniImplementation } from './implementation.js';
import { CniBerthd, execModeEnv, totalCalls } from './modes.js';
import { formatConformanceTable, runScenario, type ScenarioResult } from './runner.js';
import type { CniScenario } from './scenarios.js';

export interface SideBySideOptions {
  readonly scenarios: readonly CniScenario[];
  /** Whether the reference plugins the scenarios use are installed. */
  readonly hasReference: boolean;
}

export async function sideBySideSuite(t: Test, options: SideBySideOptions): Promise<void> {
  const results: ScenarioResult[] = [];
  const berthd = await CniBerthd.start(t);
  const berthModes: CniImplementation[] = [
    { ...berthImplementation, label: 'berth/berthd', env: berthd.callerEnv },
    { ...berthImplementation, label: 'berth/exec', env: await execModeEnv(t) },
  ];
  for (const scenario of options.scenarios) {
    await t.test(scenario.name, async (t) => {
      for (const implementation of berthModes) {
        const result = await runScenario(scenario, implementation);
        results.push(result);
        t.ok(result.passed, `${implementation.label}: ${result.detail || 'pass'}`);
      }
      if (!options.hasReference) return;
      const reference = await runScenario(scenario, referenceImplementation);
      results.push(reference);
      if (!reference.passed) t.comment(`finding: the reference fails ${scenario.name}: ${reference.detail}`);
    });
  }
  await t.test('every call of the berthd mode was served by berthd', async (t) => {
    const stats = await berthd.stats();
    t.ok(totalCalls(stats.served) > options.scenarios.length, `berthd served ${totalCalls(stats.served)} calls`);
    t.same(stats.declined, {}, 'none declined (declined calls are exec\'d by the shim)');
    t.equal(stats.abandoned, 0, 'none abandoned by a shim that gave up waiting');
  });
  await t.test('side-by-side table', async (t) => {
    t.comment(`\n${formatConformanceTable(results)}`);
    for (const { label } of berthModes) {
      t.equal(results.filter((result) => result.implementation === label).length, options.scenarios.length, `every scenario ran for ${label}`);
    }
  });
}
