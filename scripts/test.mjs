#!/usr/bin/env node
// Runs the whole tap suite, then the suite-end leak check, and closes with "N passed, N failed" (skips on the line before).
// A test case is a direct child of a test file (a t.test() or a top-level assertion); one marked SKIP or TODO (it
// could not run here, e.g. a kernel feature this machine lacks) is counted as skipped, never as passed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const leakCheck = await import('../conformance/dist/src/harness/leaks.js');
const before = await leakCheck.snapshotHostState();

const args = ['--reporter=tap', ...process.argv.slice(2)];
const child = spawn(new URL('../node_modules/.bin/tap', import.meta.url).pathname, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
let currentFile = '';
for await (const line of createInterface({ input: child.stdout })) {
  process.stdout.write(`${line}\n`);
  const file = /^# Subtest: (.+)$/.exec(line);
  if (file) currentFile = file[1];
  const result = /^ {4}(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
  if (result === null) continue;
  if (result[3] !== undefined) { skipped += 1; continue; }
  if (result[1] === 'ok') passed += 1;
  else { failed += 1; failures.push(`${currentFile}: ${result[2]}`); }
  // A file that crashed before any assertion shows only at depth 0.
}
const exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
if (exitCode !== 0 && failed === 0) { failed += 1; failures.push(`tap exited with code ${exitCode}`); }

const leaks = leakCheck.diffHostState(before, await leakCheck.snapshotHostState());
if (leaks.length === 0) passed += 1;
else { failed += 1; failures.push(`left behind by tests: ${leaks.join(', ')}`); }

if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${skipped} skipped (could not run on this machine)\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
