/**
 * `berth-hook STAGE`: the one OCI hook executable. The runtime gives it the container's state on stdin and (from
 * hooks.d or config.json) the stage as its argument; it exits 0, or non-zero with one line on stderr that the
 * runtime shows as the reason the container did not start. `berth-hook gc` releases what containers that are gone
 * left behind.
 */
import { readStdinCapped, sharedLogger, type Logger } from '@berth/cni';
import { HookCode, HookError, oneLine } from './errors.js';
import { Deadline } from './deadline.js';
import { hookFailpoints } from './failpoints.js';
import { collectGarbage } from './gc.js';
import { ociStateBytesMax, parseOciState } from './oci-state.js';
import { hookPaths } from './paths.js';
import { stageHost } from './stage-host.js';
import { STAGES, createContainer, createRuntime, poststop, type Stage, type StageContext } from './stages.js';

/** The stage's budget: its calls are bounded by what is left of it (deadline.ts); a stage still running at the end is
 * abandoned all the same (its record tells poststop or GC what to undo). */
export const stageTimeoutMsDefault = 60_000;
const watchdogGraceMs = 1_000;

/** The plugins get a clean environment: Berth's settings and a PATH, nothing else of the runtime's. */
const pluginEnvNames = ['BERTH_ROOT', 'BERTH_RUN_DIR', 'BERTH_SOCKET', 'BERTH_LOG_LEVEL', 'BERTH_LOG_FILE', 'BERTH_FAILPOINTS'];

export function stageContext(env: NodeJS.ProcessEnv, logger: Logger, deadline = new Deadline(stageTimeout(env))): StageContext {
  const pluginEnv: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const name of pluginEnvNames) {
    const value = env[name];
    if (value !== undefined && value !== '') pluginEnv[name] = value;
  }
  return { paths: hookPaths(env), logger, pluginEnv, deadline, failpoint: hookFailpoints(env) };
}

function hookLogger(env: NodeJS.ProcessEnv, stage: string): Logger {
  return sharedLogger('berth-hook', { BERTH_LOG_LEVEL: env['BERTH_LOG_LEVEL'] ?? 'info', BERTH_LOG_FILE: hookPaths(env).logFile }).child({ stage });
}

function stageTimeout(env: NodeJS.ProcessEnv): number {
  const value = Number(env['BERTH_HOOK_TIMEOUT_MS'] ?? stageTimeoutMsDefault);
  return Number.isSafeInteger(value) && value > 0 ? value : stageTimeoutMsDefault;
}

async function runStage(stage: Stage, context: StageContext, stateText: string): Promise<void> {
  const state = parseOciState(stateText);
  context.logger.info({ containerId: state.id, pid: state.pid }, 'stage start');
  const run = { createRuntime, createContainer, poststop }[stage];
  await run(context, state);
}

/**
 * One stage (or gc) within its budget, logged to the hook log: what the hook executable does after reading its stdin
 * (`stateText` gives the OCI state), and what `berth run` does in its own process. Rejects with the one-line reason
 * the executable prints: `berth-hook STAGE: …`.
 */
export async function runHookStage(stage: Stage | 'gc', env: NodeJS.ProcessEnv, stateText: () => Promise<string>): Promise<void> {
  const logger = hookLogger(env, stage);
  const timeoutMs = stageTimeout(env);
  const context = stageContext(env, logger, new Deadline(timeoutMs));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // A backstop: every call is bounded by the deadline already (deadline.ts), the rollback included.
    timer = setTimeout(() => reject(new HookError(HookCode.Timeout, `${stage} did not finish within ${timeoutMs} ms`)), timeoutMs + watchdogGraceMs);
  });
  try {
    await Promise.race([stage === 'gc' ? collectGarbage(context) : stateText().then((text) => runStage(stage, context, text)), deadline]);
  } catch (error) {
    logger.error({ error: oneLine(error), code: error instanceof HookError ? error.code : 'INTERNAL' }, 'stage failed');
    throw new Error(`berth-hook ${stage}: ${oneLine(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    if (stageHost().flushLogEachStage) await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [stage] = argv;
  if (stage === undefined || (stage !== 'gc' && !(STAGES as readonly string[]).includes(stage))) {
    process.stderr.write(`berth-hook: expected one argument, the stage: ${STAGES.join(', ')} (or gc)\n`);
    return 2;
  }
  try {
    await runHookStage(stage as Stage | 'gc', env, () => readStdinCapped(ociStateBytesMax));
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
