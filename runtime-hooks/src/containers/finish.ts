import { createLogger } from '@berth/cni';
import { stageContext } from '../hooks/main.js';
import { hookPaths } from '../hooks/paths.js';
import { release } from '../hooks/stages.js';
import { RuntimeCli } from './runtime.js';
import { ContainerStore, type ContainerMeta } from './store.js';

/**
 * After the container's process ended (or never started): delete it from the runtime (`delete --force`, which runs
 * the poststop hook), then release whatever the hooks' record still holds (a hook SIGKILLed before its own rollback,
 * a poststop that did not finish), then record the exit or, with --rm, forget the container. Idempotent.
 */
export async function finishContainer(meta: ContainerMeta, exitCode: number | undefined, env: NodeJS.ProcessEnv, remove: boolean): Promise<void> {
  const runtime = new RuntimeCli(meta.runtime, meta.runtimeRoot);
  if ((await runtime.status(meta.id)) !== undefined) await runtime.call(['delete', '--force', meta.id]);
  const paths = hookPaths(env);
  const logger = createLogger('berth', { BERTH_LOG_LEVEL: env['BERTH_LOG_LEVEL'] ?? 'info', BERTH_LOG_FILE: paths.logFile });
  try {
    // Failpoints are for the hook processes under test, never for the CLI that cleans up after them.
    const { BERTH_FAILPOINTS: _failpoints, ...clean } = env;
    await release(stageContext(clean, logger.child({ stage: 'finish' })), meta.id);
  } finally {
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
  const store = new ContainerStore(paths.root);
  if (remove) store.remove(meta.id);
  else store.update(meta.id, { status: 'exited', finished: new Date().toISOString(), ...(exitCode === undefined ? {} : { exitCode }) });
}
