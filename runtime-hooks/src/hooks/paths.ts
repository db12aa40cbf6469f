import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { berthSocketDefault } from '../daemon/client.js';

/** Where the hooks find and keep things; every entry overridable through the environment the runtime gives them. */
export interface HookPaths {
  readonly root: string;
  readonly runDir: string;
  readonly socket: string;
  /** Conflists by network name ($BERTH_CNI_CONF_DIR). */
  readonly cniConfDir: string;
  /** CNI_PATH: Berth's cni/bin first, then the usual places of the reference plugins. */
  readonly cniPath: readonly string[];
  /** One record per container the hooks touched (see record.ts). */
  readonly recordDir: string;
  /** Netns pins: `<runDir>/netns/<containerId>`. */
  readonly netnsDir: string;
  /** berthd's per-container secrets tmpfs: `<runDir>/secrets/<containerId>` (CONTRACTS.md). */
  readonly secretsDir: string;
  readonly logFile: string;
}

/** Berth's CNI executables: cni/bin of the installed @berth/cni (whose entry is cni/dist/src/index.js). */
const berthCniBin = join(dirname(createRequire(import.meta.url).resolve('@berth/cni')), '..', '..', 'bin');

function absolute(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name];
  return value !== undefined && isAbsolute(value) ? value : fallback;
}

export function hookPaths(env: NodeJS.ProcessEnv): HookPaths {
  const root = absolute(env, 'BERTH_ROOT', '/var/lib/berth');
  const runDir = absolute(env, 'BERTH_RUN_DIR', '/run/berth');
  const cniPath = env['BERTH_CNI_PATH'] !== undefined && env['BERTH_CNI_PATH'] !== ''
    ? env['BERTH_CNI_PATH'].split(':').filter(isAbsolute)
    : [berthCniBin, '/opt/cni/bin', '/usr/lib/cni'];
  return {
    root, runDir, cniPath,
    socket: absolute(env, 'BERTH_SOCKET', berthSocketDefault),
    cniConfDir: absolute(env, 'BERTH_CNI_CONF_DIR', '/etc/cni/net.d'),
    recordDir: join(runDir, 'hooks'),
    netnsDir: join(runDir, 'netns'),
    secretsDir: join(runDir, 'secrets'),
    logFile: absolute(env, 'BERTH_HOOK_LOG', join(root, 'logs', 'hook.log')),
  };
}
