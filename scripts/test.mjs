#!/usr/bin/env node
// Runs the whole tap suite, then the suite-end leak check, and closes with "N passed, N failed" (skips on the line before).
// A test case is a direct child of a test file (a t.test() or a top-level assertion); one marked SKIP or TODO (it
// could not run here, e.g. a kernel feature this machine lacks) is counted as skipped, never as passed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const leakCheck = await import('../conformance/dist/src/harness/leaks.js');
const before = await leakCheck.snapshotHostState();

const tap = new URL('../node_modules/.bin/tap', import.meta.url).pathname;
const lanesCount = 2;
const shortFileSeconds = 1;

/**
 * The whole suite as two lanes of one tap each (one file at a time), balanced by how long each file took on 2 cores
 * (scripts/test-durations.json; a file not listed counts as short): longest first, each to the lane with less so far.
 * One tap with two jobs would take the files in name order and could start the slowest last.
 */
async function balancedLanes() {
  const listed = await new Promise((resolve, reject) => {
    const lister = spawn(tap, ['list'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    lister.stdout.on('data', (chunk) => { text += chunk; });
    lister.on('close', (code) => (code === 0 ? resolve(text.split('\n').filter(Boolean)) : reject(new Error(`tap list exited with ${code}`))));
  });
  const durations = JSON.parse(readFileSync(new URL('test-durations.json', import.meta.url), 'utf8'));
  const seconds = (file) => durations[file] ?? shortFileSeconds;
  const lanes = Array.from({ length: lanesCount }, () => ({ files: [], total: 0 }));
  for (const file of [...listed].sort((a, b) => seconds(b) - seconds(a))) {
    const lane = lanes.reduce((least, each) => (each.total < least.total ? each : least));
    lane.files.push(file);
    lane.total += seconds(file);
  }
  return lanes.map((lane) => ['--jobs=1', ...lane.files]);
}

const requested = process.argv.slice(2);
const runs = requested.length > 0 ? [requested] : await balancedLanes();
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/** One tap run: its lines echoed, its files' direct subtests counted. */
async function runTap(args) {
  const child = spawn(tap, ['--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let currentFile = '';
  let failedHere = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    process.stdout.write(`${line}\n`);
    const file = /^# Subtest: (.+)$/.exec(line);
    if (file) currentFile = file[1];
    const result = /^ {4}(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (result === null) continue;
    if (result[3] !== undefined) { skipped += 1; continue; }
    if (result[1] === 'ok') passed += 1;
    else { failed += 1; failedHere += 1; failures.push(`${currentFile}: ${result[2]}`); }
    // A file that crashed before any assertion shows only at depth 0.
  }
  const exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  if (exitCode !== 0 && failedHere === 0) { failed += 1; failures.push(`tap exited with code ${exitCode}`); }
}
await Promise.all(runs.map(runTap));

const leaks = leakCheck.diffHostState(before, await leakCheck.snapshotHostState());
if (leaks.length === 0) passed += 1;
else { failed += 1; failures.push(`left behind by tests: ${leaks.join(', ')}`); }

if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${skipped} skipped (could not run on this machine)\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
