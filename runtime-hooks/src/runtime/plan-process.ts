import { capabilityMask } from './capabilities.js';
import { hex } from './mount-options.js';
import type { PlanRecord } from './plan-records.js';
import { rlimitNumber } from './rlimits.js';
import type { Process } from './spec.js';

const umaskDefault = 0o022;

/**
 * The steps that turn the helper's child into the spec's process, in runc's order: rlimits, no_new_privileges,
 * bounding set (needs CAP_SETPCAP, so before the user switch), user and groups, capability sets, umask, cwd, then the
 * executable's lookup in PATH (a create-time error, as runc). `env` is the final environment (HOME added by the caller).
 */
export function processSteps(process: Process, env: readonly string[]): PlanRecord[] {
  const steps: PlanRecord[] = process.rlimits.map((rlimit) =>
    ['rlimit', String(rlimitNumber(rlimit.type)), rlimit.soft.toString(), rlimit.hard.toString()]);
  if (process.noNewPrivileges) steps.push(['no-new-privileges']);
  const capabilities = process.capabilities;
  if (capabilities !== undefined) steps.push(['bounding', hex(capabilityMask(capabilities.bounding))]);
  steps.push(['user', String(process.user.uid), String(process.user.gid), process.user.additionalGids.join(',')]);
  if (capabilities !== undefined) {
    steps.push(['capabilities', ...[capabilities.effective, capabilities.permitted, capabilities.inheritable, capabilities.ambient]
      .map((set) => hex(capabilityMask(set)))]);
  }
  steps.push(['umask', (process.user.umask ?? umaskDefault).toString(8)]);
  steps.push(['chdir', process.cwd]);
  steps.push(['process', String(process.args.length), ...process.args, ...env]);
  steps.push(['lookup']);
  return steps;
}

/** HOME as runc sets it when the spec's env has none: the user's home from the container's /etc/passwd, else /. */
export function withHome(env: readonly string[], uid: number, passwd: string | undefined): string[] {
  if (env.some((entry) => entry.startsWith('HOME='))) return [...env];
  const line = (passwd ?? '').split('\n').map((row) => row.split(':')).find((fields) => fields[2] === String(uid));
  return [...env, `HOME=${line?.[5] || '/'}`];
}
