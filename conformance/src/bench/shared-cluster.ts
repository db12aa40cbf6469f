/**
 * --quick only: the cluster and secrets benchmarks one after the other on one cluster of three managers and a
 * worker, instead of one cluster each. Starting one is set-up, not measured, and most of their quick time here
 * (10–30 s: joins wait for etcd's 5 s health check between members); neither benchmark changes the cluster for
 * the other (the quick cluster benchmark kills no member). The full run keeps a cluster per benchmark.
 * Run: node conformance/dist/src/bench/shared-cluster.js --result-dir DIR NAME... (writes DIR/NAME.json, as --result does)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from '../cluster/test-cluster.js';
import { Teardowns } from '../harness/index.js';
import { stringArg } from './cli.js';
import { benchCluster, clusterMeasurements, formatClusterReport, quickClusterBenchOptions } from './cluster.js';
import type { Measurement } from './result.js';
import { benchSecrets, formatSecretsReport, quickSecretsBenchOptions, secretsMeasurements } from './secrets.js';

type SharedBench = (cluster: TestCluster) => Promise<{ text: string; measurements: Measurement[] }>;

export const sharedClusterBenchmarks: Readonly<Record<string, SharedBench>> = {
  cluster: async (cluster) => {
    const report = await benchCluster(quickClusterBenchOptions, cluster);
    return { text: formatClusterReport(report), measurements: clusterMeasurements(report) };
  },
  secrets: async (cluster) => {
    const report = await benchSecrets(quickSecretsBenchOptions, cluster);
    return { text: formatSecretsReport(report), measurements: secretsMeasurements(report) };
  },
};

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function main(argv: readonly string[]): Promise<number> {
  const resultDir = stringArg(argv, '--result-dir');
  const names = argv.filter((arg, index) => !arg.startsWith('--') && argv[index - 1] !== '--result-dir');
  const unknown = names.filter((name) => !(name in sharedClusterBenchmarks));
  if (resultDir === undefined || names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: shared-cluster.js --result-dir DIR NAME... (NAME: ${Object.keys(sharedClusterBenchmarks).join(', ')})\n`);
    return 2;
  }
  let failed = 0;
  const teardowns = new Teardowns();
  try {
    const started = Date.now();
    const cluster = await TestCluster.start(teardowns, { managers: 3 });
    process.stdout.write(`(one cluster for ${names.join(', ')}, started in ${seconds(started)})\n`);
    for (const name of names) {
      const benchStarted = Date.now();
      try {
        const { text, measurements } = await (sharedClusterBenchmarks[name] as SharedBench)(cluster);
        writeFileSync(join(resultDir, `${name}.json`), JSON.stringify({ text, measurements }));
        process.stdout.write(`\n${name}:\n${text.endsWith('\n') ? text : `${text}\n`}(${name}: ${seconds(benchStarted)})\n`);
      } catch (error) {
        failed += 1;
        process.stderr.write(`benchmark ${name} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      }
    }
  } finally {
    const failures = await teardowns.run();
    if (failures.length > 0) process.stderr.write(`shared cluster teardown: ${failures.join('; ')}\n`);
  }
  return failed === 0 ? 0 : 1;
}

// Some benchmarks leave client handles that keep the loop alive (etcd channels): exit once done, as cli.ts does.
main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`shared cluster failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
