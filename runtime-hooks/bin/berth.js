#!/usr/bin/env node
import { createRequire } from 'node:module';
import { containerCommandNames } from '../dist/src/cli/container-commands.js';

if (containerCommandNames.has(process.argv[2] ?? '')) {
  createRequire(import.meta.url)('../../cni/dist/bundle/load.cjs')('berth-containers');
} else {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
}
