/**
 * `npm run demo`: Berth on a bare host, as a user drives it — a busybox rootfs, berthd forming a one-host cluster,
 * a bridge network, web, db and client containers under `berth run -d` (berth-runtime and Berth's hooks), a
 * NetworkPolicy probed from inside the client, a secret delivered to db at /run/secrets and rotated live — then
 * everything removed. It all happens in a test host network namespace with private state paths (never
 * /var/lib/berth or /run/berth); nothing in the root network namespace is touched.
 */
import { performance } from 'node:perf_hooks';
import { runClusterAct } from './cluster-act.js';
import { cleanUp } from './cleanup.js';
import { createNetwork, runContainers } from './containers-act.js';
import { runPolicyAct } from './policy-act.js';
import { createSecret, demoSecret, runSecretsAct } from './secrets-act.js';
import { DemoStage, seconds } from './stage.js';

const started = performance.now();
const stage = new DemoStage();
let failure: string | undefined;
const note = (error: unknown): void => {
  failure ??= error instanceof Error ? error.message : String(error);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stage.interrupt(signal));
try {
  await runClusterAct(stage);
  await createNetwork(stage);
  const firstValue = await createSecret(stage);
  const containers = await runContainers(stage, demoSecret);
  await runPolicyAct(stage, containers);
  await runSecretsAct(stage, firstValue);
} catch (error) {
  note(stage.interruptedBy === undefined ? error : `interrupted by ${stage.interruptedBy}`);
}
await cleanUp(stage, failure === undefined).catch(note);

process.stdout.write('\nSteps:\n');
for (const [index, step] of stage.steps.entries()) {
  process.stdout.write(`${String(index + 1).padStart(3)}. ${step.title.padEnd(92)} ${seconds(step.ms).padStart(7)}${step.ok ? '' : '  FAILED'}\n`);
}
process.stdout.write(`     ${'total'.padEnd(92)} ${seconds(performance.now() - started).padStart(7)}\n`);
process.stdout.write(failure === undefined ? '\ndemo: every step ran green; everything it made is gone.\n' : `\ndemo FAILED: ${failure}\n`);
process.exitCode = failure === undefined ? 0 : 1;
