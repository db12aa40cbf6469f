import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Stage } from './stages.js';

/** The installed hook executable, runtime-hooks/bin/berth-hook (the package's entry is dist/src/index.js). */
export const berthHookPath = join(dirname(createRequire(import.meta.url).resolve('@berth/runtime')), '..', '..', 'bin', 'berth-hook');

/** Each hook's `timeout` (s) in config.json: the runtime kills a hook that takes longer; above the stage budget. */
export const hookTimeoutSeconds = 90;

export interface OciHook {
  readonly path: string;
  readonly args: readonly string[];
  readonly env?: readonly string[];
  readonly timeout?: number;
}

/** Berth's hooks for a config.json: one entry per stage, `env` as `K=V` (runtimes give hooks no other environment). */
export function berthOciHooks(env: Readonly<Record<string, string>>, path = berthHookPath): Record<Stage, OciHook[]> {
  const hook = (stage: Stage): OciHook[] => [{
    path, args: ['berth-hook', stage], timeout: hookTimeoutSeconds,
    ...(Object.keys(env).length > 0 ? { env: Object.entries(env).map(([key, value]) => `${key}=${value}`) } : {}),
  }];
  return { createRuntime: hook('createRuntime'), createContainer: hook('createContainer'), poststop: hook('poststop') };
}

/** Variables of the caller's environment the hooks need to find the same state (tests, side-by-side installs). */
export const hookEnvNames = ['BERTH_ROOT', 'BERTH_RUN_DIR', 'BERTH_SOCKET', 'BERTH_CNI_CONF_DIR', 'BERTH_CNI_PATH', 'BERTH_LOG_LEVEL', 'BERTH_HOOK_LOG', 'BERTH_FAILPOINTS', 'BERTH_HOOK_TIMEOUT_MS'];

export function hookEnvFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of hookEnvNames) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}
