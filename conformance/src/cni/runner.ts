import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Teardowns, TestHost } from '../harness/index.js';
import { ScenarioFailure, type ScenarioContext } from './context.js';
import { addOutside } from './traffic.js';
import { CniEngine } from './engine.js';
import type { CniImplementation } from './implementation.js';
import { cniScenarios, type CniScenario } from './scenarios.js';

export interface ScenarioResult {
  readonly scenario: string;
  readonly implementation: string;
  readonly passed: boolean;
  /** Why it failed, or a note (e.g. the error code seen). */
  readonly detail: string;
}


/** Runs one scenario against one implementation in a fresh host netns, and removes everything afterwards. */
export async function runScenario(scenario: CniScenario, implementation: CniImplementation): Promise<ScenarioResult> {
  const teardowns = new Teardowns();
  const base = { scenario: scenario.name, implementation: implementation.label };
  try {
    const host = await TestHost.create(teardowns, 'cni');
    const dataDir = await mkdtemp(join(tmpdir(), 'bt-cni-conf-'));
    teardowns.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const context: ScenarioContext = {
      implementation, host, dataDir, registry: teardowns, engine: new CniEngine(implementation, host),
      container: () => host.addNetns('ctr'),
      outside: () => addOutside(host),
    };
    const note = await scenario.run(context);
    return { ...base, passed: true, detail: note ?? '' };
  } catch (error) {
    const detail = error instanceof ScenarioFailure ? error.message : error instanceof Error ? error.message : String(error);
    return { ...base, passed: false, detail: detail.replace(/\s+/g, ' ').slice(0, 400) };
  } finally {
    await teardowns.run();
  }
}

export interface RunOptions {
  readonly scenarios?: readonly CniScenario[];
  /** Called after each result, e.g. to print progress. */
  readonly onResult?: (result: ScenarioResult) => void;
}

/** Every scenario against every implementation, one at a time (each in its own namespaces). */
export async function runCniConformance(implementations: readonly CniImplementation[], options: RunOptions = {}): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of options.scenarios ?? cniScenarios) {
    for (const implementation of implementations) {
      const result = await runScenario(scenario, implementation);
      options.onResult?.(result);
      results.push(result);
    }
  }
  return results;
}

/** The side-by-side table: one row per scenario, one column per implementation, then the details of failures. */
export function formatConformanceTable(results: readonly ScenarioResult[]): string {
  const scenarios = [...new Set(results.map((result) => result.scenario))];
  const implementations = [...new Set(results.map((result) => result.implementation))];
  const cell = (scenario: string, implementation: string): string => {
    const result = results.find((item) => item.scenario === scenario && item.implementation === implementation);
    if (result === undefined) return '-';
    return result.passed ? `pass${result.detail === '' ? '' : ` (${result.detail.slice(0, 28)})`}` : 'FAIL';
  };
  const widths = [Math.max(8, ...scenarios.map((scenario) => scenario.length)),
    ...implementations.map((implementation) => Math.max(implementation.length, ...scenarios.map((scenario) => cell(scenario, implementation).length)))];
  const row = (cells: readonly string[]): string => cells.map((text, index) => text.padEnd(widths[index] ?? 0)).join(' | ');
  const lines = [row(['scenario', ...implementations]), widths.map((width) => '-'.repeat(width)).join('-+-')];
  for (const scenario of scenarios) lines.push(row([scenario, ...implementations.map((implementation) => cell(scenario, implementation))]));
  const failures = results.filter((result) => !result.passed);
  if (failures.length > 0) {
    lines.push('', 'Failures:');
    for (const failure of failures) lines.push(`- ${failure.implementation} / ${failure.scenario}: ${failure.detail}`);
  }
  return lines.join('\n');
}
