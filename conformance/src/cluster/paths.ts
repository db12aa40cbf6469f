import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, found from this file whether it runs as TypeScript (src/) or compiled (dist/src/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    if (existsSync(join(dir, 'runtime-hooks', 'bin', 'berthd.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('Cannot find the Berth checkout root from conformance/src/cluster');
}

export const berthdScript = (): string => join(repoRoot(), 'runtime-hooks', 'bin', 'berthd.js');
export const berthScript = (): string => join(repoRoot(), 'runtime-hooks', 'bin', 'berth.js');
/** The KV client process runs compiled: `npm run build` (or tsc -b conformance) must have run. */
export const kvClientScript = (): string => join(repoRoot(), 'conformance', 'dist', 'src', 'cluster', 'kv-client-main.js');

/** Environment for spawned programs without tap's instrumentation. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(name)));
  return { ...env, ...extra };
}
