import { cgroupPids, destroyCgroups } from './cgroups.js';
import { runHooks, type InProcessHooks } from './hooks.js';
import { sleepSync } from './sleep.js';
import type { Hook } from './spec.js';
import { isAlive, type ContainerRecord, type StateStore } from './state.js';

const exitWaitMsMax = 10_000;

/** SIGKILL to every process of the container (its cgroup, and its init in case the cgroup is gone). */
export function killAll(record: ContainerRecord, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pids = new Set(cgroupPids(record.cgroups));
  if (isAlive(record.pid, record.pidStartTicks)) pids.add(record.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Waits (bounded) until the container's init and cgroup have no live process left. */
export function waitForExit(record: ContainerRecord): boolean {
  for (let waited = 0; waited < exitWaitMsMax; waited += 5) {
    if (!isAlive(record.pid, record.pidStartTicks) && cgroupPids(record.cgroups).length === 0) return true;
    sleepSync(5);
  }
  return false;
}

/**
 * Tears a container down as runc's destroy does: processes killed, cgroups removed, state directory removed, then
 * the poststop hooks (a hook's failure is reported, but the container is gone either way).
 */
export async function destroyContainer(store: StateStore, record: ContainerRecord, poststop: readonly Hook[], inProcessHooks?: InProcessHooks): Promise<void> {
  killAll(record);
  waitForExit(record);
  try {
    destroyCgroups(record.cgroups);
  } finally {
    store.remove(record.id);
  }
  await runHooks('poststop', poststop, { ociVersion: record.ociVersion, id: record.id, status: 'stopped', bundle: record.bundle, annotations: record.annotations }, record.bundle, inProcessHooks);
}
