/**
 * `npm run demo`: Berth at work in throwaway network namespaces, driven the way a user and an engine drive it —
 * the `berth` CLI writes a network, the CNI executables attach "containers" (one process per call, as an engine
 * execs them), policies are applied and explained. Nothing outside the namespaces it creates is touched.
 */
import { runClusterAct } from './cluster-act.js';
import { runNetworkAct } from './network-act.js';
import { runPolicyAct } from './policy-act.js';
import { DemoStage } from './stage.js';

const stage = await DemoStage.open();
let failed = false;
try {
  const network = await runNetworkAct(stage);
  await runPolicyAct(stage, network);
  await runClusterAct(stage);
} catch (error) {
  failed = true;
  process.stdout.write(`\ndemo FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await stage.close();
}
if (!failed) process.stdout.write('\ndemo: every step ran green; every namespace and file it made is gone.\n');
process.exitCode = failed ? 1 : 0;
