import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { containerDir, helperPath, readCgroupLayout } from '@berth/runtime';
import type { RuntimeUnderTest } from './runtimes.js';
import { ScenarioContext, type Scenario } from './scenario.js';

export interface ScenarioOutcome {
  readonly passed: boolean;
  readonly message: string;
  readonly durationMs: number;
}

export interface SuiteRow {
  readonly scenario: string;
  readonly outcomes: ReadonlyMap<string, ScenarioOutcome>;
}

/** What a scenario may have left on the host: state entries, cgroup directories, mounts, helper processes. */
export function leftovers(runtime: RuntimeUnderTest, ids: readonly string[], dir: string): string[] {
  const found: string[] = [];
  for (const entry of existsSync(runtime.root) ? readdirSync(runtime.root) : []) found.push(`state ${join(runtime.root, entry)}`);
  for (const hierarchy of readCgroupLayout().hierarchies) {
    for (const id of ids) {
      const cgroup = containerDir(hierarchy, id);
      if (existsSync(cgroup)) found.push(`cgroup ${cgroup}`);
    }
  }
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[1] ?? '';
    if (mountPoint.startsWith(dir)) found.push(`mount ${mountPoint}`);
  }
  // Helpers of this scenario's containers only (other tests may run berth-runtime at the same time): they sit in
  // the container's cgroups.
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== helperPath) continue;
      const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (ids.some((id) => cgroups.includes(`/${id}\n`))) found.push(`berth-init process ${pid}`);
    } catch {
      continue; // gone, or a kernel thread
    }
  }
  return found;
}

/** Removes what a runtime left (a finding already recorded): its state entries and empty cgroup directories. */
async function removeLeftovers(runtime: RuntimeUnderTest, ids: readonly string[]): Promise<void> {
  await rm(runtime.root, { recursive: true, force: true });
  for (const hierarchy of readCgroupLayout().hierarchies) {
    for (const id of ids) await rmdir(containerDir(hierarchy, id)).catch(() => undefined); // empty once its tasks are gone
  }
}

/**
 * Runs every scenario against every runtime, in turn, each in its own directory with its own container ids.
 * After each run the containers are force-deleted and the host is checked: anything left makes the run fail.
 */
export async function runSuite(options: {
  readonly scenarios: readonly Scenario[];
  readonly runtimes: readonly RuntimeUnderTest[];
  readonly workDir: string;
  readonly rootfs: string;
}): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  let counter = 0;
  for (const scenario of options.scenarios) {
    const outcomes = new Map<string, ScenarioOutcome>();
    for (const runtime of options.runtimes) {
      counter += 1;
      const dir = join(options.workDir, `s${counter}`);
      await mkdir(dir, { recursive: true });
      const context = new ScenarioContext({ runtime, dir, rootfs: options.rootfs, prefix: `bt-rt-${process.pid}-${counter}` });
      const started = Date.now();
      let passed = true;
      let message = '';
      try {
        await scenario.run(context);
      } catch (error) {
        passed = false;
        message = error instanceof Error ? error.message : String(error);
      }
      for (const id of context.ids) await runtime.run(['delete', '--force', id]);
      const left = leftovers(runtime, context.ids, dir);
      if (left.length > 0) {
        passed = false;
        message = `${message}${message ? '; ' : ''}left behind: ${left.join(', ')}`;
        await removeLeftovers(runtime, context.ids);
      }
      await rm(dir, { recursive: true, force: true });
      outcomes.set(runtime.name, { passed, message, durationMs: Date.now() - started });
    }
    rows.push({ scenario: scenario.name, outcomes });
  }
  return rows;
}

/** The scenario × runtime table: pass/FAIL with the time each took. */
export function formatTable(rows: readonly SuiteRow[], runtimeNames: readonly string[]): string {
  const width = Math.max(8, ...rows.map((row) => row.scenario.length));
  const cell = (outcome: ScenarioOutcome | undefined): string =>
    (outcome === undefined ? '-' : `${outcome.passed ? 'pass' : 'FAIL'} ${(outcome.durationMs / 1000).toFixed(2)}s`).padEnd(16);
  const lines = [`${'scenario'.padEnd(width)}  ${runtimeNames.map((name) => name.padEnd(16)).join('')}`];
  for (const row of rows) lines.push(`${row.scenario.padEnd(width)}  ${runtimeNames.map((name) => cell(row.outcomes.get(name))).join('')}`);
  return lines.join('\n');
}
