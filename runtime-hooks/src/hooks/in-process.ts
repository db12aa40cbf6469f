/**
 * Berth's own hook run inside the process that embeds the runtime (`berth run`) rather than exec'd: the same stage
 * function, with the environment the hook entry gives, saving a Node start per stage on the container's path.
 */
import type { InProcessHooks } from '../runtime/hooks.js';
import { envObject } from '../runtime/hooks.js';
import { runHookStage } from './main.js';
import { berthHookPath } from './oci-hooks.js';
import { hookPaths } from './paths.js';
import { STAGES, type Stage } from './stages.js';

/**
 * Takes the entries that exec `hookPath` for the stage being run. One whose environment names failpoints is left to
 * be exec'd: a crash test kills the hook's own process at a failpoint, which must not be the caller's.
 */
export function berthHooksInProcess(hookPath = berthHookPath): InProcessHooks {
  return (hook, kind) => {
    const stage = hook.args[1];
    if (hook.path !== hookPath || stage !== kind || !(STAGES as readonly string[]).includes(stage)) return undefined;
    const env: Record<string, string> = envObject(hook.env);
    if ((env['BERTH_FAILPOINTS'] ?? '') !== '') return undefined;
    // As the executable does (bin.ts): plugins run inside the stage log into the hook log.
    env['BERTH_LOG_FILE'] ??= hookPaths(env).logFile;
    return (stateJson) => runHookStage(stage as Stage, env, () => Promise.resolve(stateJson));
  };
}
