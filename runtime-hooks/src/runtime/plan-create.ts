import { join } from 'node:path';
import { hex, isBindMount, MountFlag, propagationFlags } from './mount-options.js';
import { deviceSteps, mountSteps, type CgroupView, type ResolvedMount } from './plan-mounts.js';
import { processSteps } from './plan-process.js';
import type { PlanRecord } from './plan-records.js';
import type { Hook, NamespaceType, Spec } from './spec.js';

/** clone(2) flags of the namespaces a container gets new (linux/sched.h). */
export const cloneFlags: Readonly<Record<NamespaceType, number>> = {
  mount: 0x20000, cgroup: 0x2000000, uts: 0x4000000, ipc: 0x8000000, user: 0x10000000, pid: 0x20000000, network: 0x40000000,
};

/** How the helper's first process behaves after forking the container: leave, or wait (and relay a pty). */
export type ForkMode = 'detached' | 'wait' | 'wait-tty';

export interface CreatePlanInput {
  readonly spec: Spec;
  readonly rootfs: string;
  readonly stateDir: string;
  readonly mounts: readonly ResolvedMount[];
  readonly cgroupProcsFiles: readonly string[];
  readonly cgroupView: CgroupView;
  /** The process environment with HOME settled. */
  readonly env: readonly string[];
  readonly forkMode: ForkMode;
  readonly consoleSocket?: string;
  /** Whether the host has /proc/kcore (runc links /dev/core to it). */
  readonly hostHasKcore: boolean;
}

export function hookSteps(kind: string, hooks: readonly Hook[]): PlanRecord[] {
  return hooks.map((hook) => ['hook', kind, String(hook.timeoutSeconds ?? 0), hook.path, String(hook.args.length), ...hook.args, ...hook.env]);
}

/**
 * The parent stage: exec fifo, oom_score_adj, cgroups, namespaces joined by path (a user namespace first), the
 * console socket — all while the helper still has the host's privileges — then a new user namespace (berth-runtime
 * writes its maps at sync point "userns"), the other new namespaces, and the fork.
 */
function parentSteps(input: CreatePlanInput): PlanRecord[] {
  const { spec } = input;
  const namespaces = [...spec.linux.namespaces].sort((a, b) => Number(b.type === 'user') - Number(a.type === 'user'));
  const steps: PlanRecord[] = [['mkfifo', join(input.stateDir, 'exec.fifo')]];
  if (spec.process.oomScoreAdj !== undefined) steps.push(['write', '/proc/self/oom_score_adj', String(spec.process.oomScoreAdj)]);
  for (const file of input.cgroupProcsFiles) steps.push(['cgroup-join', file]);
  for (const namespace of namespaces) {
    if (namespace.path === undefined) continue;
    steps.push(['setns', namespace.path]);
    if (namespace.type === 'user') steps.push(['become-root']);
  }
  if (input.consoleSocket !== undefined) steps.push(['console-socket', input.consoleSocket]);
  const created = namespaces.filter((namespace) => namespace.path === undefined);
  if (created.some((namespace) => namespace.type === 'user')) steps.push(['unshare', hex(cloneFlags.user)], ['sync', 'userns'], ['become-root']);
  const flags = created.filter((namespace) => namespace.type !== 'user').reduce((sum, namespace) => sum | cloneFlags[namespace.type], 0);
  if (flags !== 0) steps.push(['unshare', hex(flags)]);
  steps.push(['fork', input.forkMode]);
  return steps;
}

/** A network namespace made for the container gets its loopback up, as runc's "loopback" network does. */
function networkSteps(spec: Spec): PlanRecord[] {
  return spec.linux.namespaces.some((namespace) => namespace.type === 'network' && namespace.path === undefined) ? [['loopback-up']] : [];
}

/** The container's root: propagation, the rootfs bound on itself (pivot_root needs a mount), the spec's mounts, /dev. */
function rootfsSteps(input: CreatePlanInput): PlanRecord[] {
  const { spec, rootfs } = input;
  const rootPropagation = propagationFlags(spec.linux.rootfsPropagation ?? 'rslave') ?? MountFlag.slave | MountFlag.recursive;
  const steps: PlanRecord[] = [
    ['mount', '', '/', '', hex(rootPropagation), ''],
    ['mount', rootfs, rootfs, '', hex(MountFlag.bind | MountFlag.recursive), ''],
  ];
  for (const mount of input.mounts) steps.push(...mountSteps(mount, input.cgroupView));
  const dev = input.mounts.find((mount) => mount.mount.destination === '/dev');
  if (dev !== undefined && !isBindMount(dev.mount.type, dev.options)) {
    // In a new user namespace mknod is not allowed: the host's nodes are bound instead, as runc does.
    const inUserNamespace = spec.linux.namespaces.some((namespace) => namespace.type === 'user');
    steps.push(...deviceSteps(rootfs, spec.linux.devices, { withCore: input.hostHasKcore, bindFromHost: inUserNamespace }));
  }
  return steps;
}

/** After pivot_root: read-only root, hostname, sysctls, read-only and masked paths (runc's finalisation order). */
function finalSteps(spec: Spec): PlanRecord[] {
  const steps: PlanRecord[] = [];
  if (spec.root.readonly) steps.push(['mount', '', '/', '', hex(MountFlag.bind | MountFlag.remount | MountFlag.readonly), '']);
  if (spec.hostname !== undefined && spec.hostname !== '') steps.push(['hostname', spec.hostname]);
  if (spec.domainname !== undefined && spec.domainname !== '') steps.push(['domainname', spec.domainname]);
  for (const [key, value] of Object.entries(spec.linux.sysctl)) steps.push(['write', `/proc/sys/${key.replaceAll('.', '/')}`, value]);
  for (const path of spec.linux.readonlyPaths) steps.push(['readonly', path]);
  for (const path of spec.linux.maskedPaths) steps.push(['mask', path]);
  return steps;
}

/**
 * The whole plan of `create`, in the order runc's init follows. Sync point "hooks" is where berth-runtime runs the
 * prestart and createRuntime hooks (runtime namespace) and answers with the states for the container's own hooks.
 */
export function createPlan(input: CreatePlanInput): PlanRecord[] {
  const { spec } = input;
  return [
    ...parentSteps(input),
    ...networkSteps(spec),
    ...rootfsSteps(input),
    ['fifo-dir', input.stateDir],
    ['sync', 'hooks'],
    ...hookSteps('createContainer', spec.hooks.createContainer),
    ['pivot-root', input.rootfs],
    ...(spec.process.terminal ? [['terminal', String(spec.process.consoleSize?.width ?? 0), String(spec.process.consoleSize?.height ?? 0)] as PlanRecord] : []),
    ...finalSteps(spec),
    ...processSteps(spec.process, input.env, spec.linux.seccomp),
    ['ready'],
    ['wait-start'],
    ...hookSteps('startContainer', spec.hooks.startContainer),
    ['exec'],
    ['end'],
  ];
}
