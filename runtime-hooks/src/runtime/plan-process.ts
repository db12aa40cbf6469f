import { capabilityMask } from './capabilities.js';
import { hex } from './mount-options.js';
import type { PlanRecord } from './plan-records.js';
import { rlimitNumber } from './rlimits.js';
import type { SeccompProfile } from './seccomp.js';
import { compileSeccomp, encodeFilter } from './seccomp-bpf.js';
import type { Process } from './spec.js';

const umaskDefault = 0o022;

/**
 * The steps that turn the helper's child into the spec's process, in runc's order: rlimits, no_new_privileges,
 * bounding set (needs CAP_SETPCAP, so before the user switch), user and groups, capability sets, umask, cwd, then the
 * executable's lookup in PATH (a create-time error, as runc), with the seccomp filter where runc puts it. `env` is the
 * final environment (HOME added by the caller).
 */
export function processSteps(process: Process, env: readonly string[], seccomp?: SeccompProfile): PlanRecord[] {
  const steps: PlanRecord[] = process.rlimits.map((rlimit) =>
    ['rlimit', String(rlimitNumber(rlimit.type)), rlimit.soft.toString(), rlimit.hard.toString()]);
  if (process.noNewPrivileges) steps.push(['no-new-privileges']);
  // As runc: without no_new_privileges the filter goes in while we still have CAP_SYS_ADMIN; with it, as late as
  // possible (after the lookup, before the start signal), so fewer of our own calls run under it.
  const filter: PlanRecord | undefined = seccomp === undefined ? undefined : ['seccomp', encodeFilter(compileSeccomp(seccomp))];
  if (filter !== undefined && !process.noNewPrivileges) steps.push(filter);
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
  if (filter !== undefined && process.noNewPrivileges) steps.push(filter);
  return steps;
}

/** HOME as runc sets it when the spec's env has none: the user's home from the container's /etc/passwd, else /. */
export function withHome(env: readonly string[], uid: number, passwd: string | undefined): string[] {
  if (env.some((entry) => entry.startsWith('HOME='))) return [...env];
  const line = (passwd ?? '').split('\n').map((row) => row.split(':')).find((fields) => fields[2] === String(uid));
  return [...env, `HOME=${line?.[5] || '/'}`];
}
