/**
 * Points in the hook stages where a crash test has the hook die (SIGKILL to itself, as an external `kill -9` at that
 * instant), enabled only by naming them in BERTH_FAILPOINTS: the same variable and action as the CNI plugins'.
 */
export const HOOK_FAILPOINTS = [
  'hook-after-pin', 'hook-after-cni-add', 'hook-after-task', 'hook-before-record-done', 'hook-after-secrets-bind',
  'hook-poststop-after-del',
] as const;
export type HookFailpoint = (typeof HOOK_FAILPOINTS)[number];

export function hookFailpoints(env: NodeJS.ProcessEnv): (name: HookFailpoint) => void {
  const enabled = new Set((env['BERTH_FAILPOINTS'] ?? '').split(',').map((name) => name.trim()));
  return (name) => {
    if (enabled.has(name)) process.kill(process.pid, 'SIGKILL');
  };
}
