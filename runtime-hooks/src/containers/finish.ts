import { sharedLogger, type Logger } from '@berth/cni';
import { collectGarbage } from '../hooks/gc.js';
import { stageContext } from '../hooks/main.js';
import { hookPaths } from '../hooks/paths.js';
import { RecordStore } from '../hooks/record.js';
import { release, type StageContext } from '../hooks/stages.js';
import { stageHost } from '../hooks/stage-host.js';
import { containerRuntime } from './runtime.js';
import { ContainerStore, type ContainerMeta } from './store.js';

/**
 * After the container's process ended (or never started): delete it from the runtime (`delete --force`, which runs
 * the poststop hook), then release whatever the hooks' record still holds (a hook SIGKILLed before its own rollback,
 * a poststop that did not finish), then record the exit or, with --rm, forget the container. Idempotent.
 */
export async function finishContainer(meta: ContainerMeta, exitCode: number | undefined, env: NodeJS.ProcessEnv, remove: boolean): Promise<void> {
  const runtime = containerRuntime(meta.runtime, meta.runtimeRoot);
  if ((await runtime.status(meta.id)) !== undefined) await runtime.forceDelete(meta.id);
  await withHookContext(env, 'finish', (context) => release(context, meta.id));
  const store = new ContainerStore(hookPaths(env).root);
  if (remove) store.remove(meta.id);
  else store.update(meta.id, { status: 'exited', finished: new Date().toISOString(), ...(exitCode === undefined ? {} : { exitCode }) });
}

/** The hooks' stage context for work the CLI does itself, logging into the hook log. */
async function withHookContext<T>(env: NodeJS.ProcessEnv, stage: string, fn: (context: StageContext) => Promise<T>): Promise<T> {
  const logger: Logger = sharedLogger('berth', { BERTH_LOG_LEVEL: env['BERTH_LOG_LEVEL'] ?? 'info', BERTH_LOG_FILE: hookPaths(env).logFile });
  try {
    // Failpoints are for the hook processes under test, never for the CLI that cleans up after them.
    const { BERTH_FAILPOINTS: _failpoints, ...clean } = env;
    return await fn(stageContext(clean, logger.child({ stage })));
  } finally {
    if (stageHost().flushLogEachStage) await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

/**
 * Before each `berth run`: release what containers that are gone left in the hooks' records (a runtime that never
 * ran poststop, a killed `berth run`), as `berth-hook gc` does. Nothing to read but an empty directory, usually.
 */
export async function collectLeftovers(env: NodeJS.ProcessEnv): Promise<void> {
  if (new RecordStore(hookPaths(env).recordDir).list(1).length === 0) return;
  await withHookContext(env, 'gc', (context) => collectGarbage(context));
}
