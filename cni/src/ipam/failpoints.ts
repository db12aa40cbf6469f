import type { CniEnvironment } from '../spec/env.js';

/**
 * Named points in the store's write path where a test can have the process die, to prove crash safety (as etcd's
 * gofail failpoints). Enabled only by listing names in `BERTH_FAILPOINTS` (comma-separated); the action is SIGKILL to
 * the process itself: exactly what an external `kill -9` at that instant would do.
 */
export const FAILPOINTS = [
  'ipam-after-lock', 'ipam-after-temp-write', 'ipam-after-reserve', 'ipam-after-last-reserved', 'ipam-before-unlock',
  'ipam-del-after-first-release',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

export type Failpoint = (name: FailpointName) => void;

export const noFailpoints: Failpoint = () => undefined;

export function failpointsFromEnv(env: CniEnvironment): Failpoint {
  const listed = (env['BERTH_FAILPOINTS'] ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (listed.length === 0) return noFailpoints;
  const enabled = new Set(listed);
  return (name) => {
    if (enabled.has(name)) process.kill(process.pid, 'SIGKILL');
  };
}
