import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { containerDir, type CgroupLayout, type Hierarchy } from './cgroup-layout.js';
import { RuntimeError } from './errors.js';
import { sleepSync } from './sleep.js';
import type { Device, DeviceRule, Resources } from './spec.js';

/** A container's cgroups, as recorded in its state: one directory per hierarchy, and which of them we created. */
export interface ContainerCgroups {
  readonly mode: 'v1' | 'v2';
  readonly dirs: readonly { readonly name: string; readonly version: 1 | 2; readonly controllers: readonly string[]; readonly dir: string }[];
  /** Directories made by create (deepest last), removed again by destroy. */
  readonly created: readonly string[];
}

const rmdirAttemptsMax = 50;

/** runc's devices every container may use besides the spec's (libcontainer/specconv AllowedDevices). */
const allowedDevices: readonly DeviceRule[] = [
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  ...[[1, 3], [1, 8], [1, 7], [5, 0], [1, 5], [1, 9], [136, null], [5, 2], [10, 200]].map(
    ([major, minor]): DeviceRule => ({ allow: true, type: 'c', major: major ?? null, minor: minor ?? null, access: 'rwm' })),
];

/** Makes the container's directory in every hierarchy (parents too), before anything joins them. */
export function createCgroups(layout: CgroupLayout, cgroupsPath: string): ContainerCgroups {
  const hierarchies = layout.hierarchies.filter((hierarchy) => layout.mode === 'v1' || hierarchy.version === 2);
  const created: string[] = [];
  try {
    const dirs = hierarchies.map((hierarchy: Hierarchy) => {
      const dir = containerDir(hierarchy, cgroupsPath);
      const missing: string[] = [];
      for (let path = dir; !existsSync(path); path = dirname(path)) missing.unshift(path);
      if (hierarchy.version === 2) enableControllers(hierarchy, dirname(dir));
      for (const path of missing) {
        mkdirSync(path);
        created.push(path);
        if (hierarchy.controllers.includes('cpuset')) inheritCpuset(path);
      }
      return { name: hierarchy.name, version: hierarchy.version, controllers: hierarchy.controllers, dir };
    });
    return { mode: layout.mode, dirs, created };
  } catch (error) {
    destroyCgroups({ mode: layout.mode, dirs: [], created });
    throw new RuntimeError(`cannot create the container's cgroups: ${(error as Error).message}`);
  }
}

/**
 * cgroup v2: a child sees only the controllers its parent delegates, so enable the ones containers are limited by
 * down the chain to the container's parent, as runc's fs2 driver does (best effort: a cgroup with processes of its
 * own refuses, and then the limit write names the missing controller).
 */
function enableControllers(hierarchy: Hierarchy, parent: string): void {
  const wanted = ['cpu', 'cpuset', 'memory', 'pids'].filter((controller) => hierarchy.controllers.includes(controller));
  if (wanted.length === 0) return;
  const chain: string[] = [];
  for (let path = parent; path.startsWith(hierarchy.mountPoint); path = dirname(path)) {
    chain.unshift(path);
    if (path === hierarchy.mountPoint) break;
  }
  for (const path of chain) {
    if (!existsSync(path)) break;
    try {
      writeFileSync(join(path, 'cgroup.subtree_control'), wanted.map((controller) => `+${controller}`).join(' '));
    } catch {
      // not delegable from here; see above
    }
  }
}

/** A new v1 cpuset starts empty and refuses tasks: give it its parent's cpus and mems, as runc does. */
function inheritCpuset(path: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if (readFileSync(join(path, file), 'utf8').trim() === '') writeFileSync(join(path, file), readFileSync(join(path, '..', file)));
  }
}

function dirWith(cgroups: ContainerCgroups, controller: string): string | undefined {
  return cgroups.dirs.find((entry) => entry.controllers.includes(controller))?.dir;
}

function write(dir: string | undefined, file: string, value: string, field: string): void {
  if (dir === undefined) throw new RuntimeError(`${field}: no cgroup controller for ${file} on this host`);
  try {
    writeFileSync(join(dir, file), value);
  } catch (error) {
    throw new RuntimeError(`${field}: cannot write ${value} to ${join(dir, file)}: ${(error as Error).message}`);
  }
}

/** Applies linux.resources: memory, cpu, cpuset, pids, and (v1) the device allow list. */
export function applyResources(cgroups: ContainerCgroups, resources: Resources, devices: readonly Device[]): void {
  if (cgroups.mode === 'v1') applyV1(cgroups, resources, devices);
  else applyV2(cgroups, resources);
}

function applyV1(cgroups: ContainerCgroups, resources: Resources, devices: readonly Device[]): void {
  const memory = dirWith(cgroups, 'memory');
  const cpu = dirWith(cgroups, 'cpu');
  const cpuset = dirWith(cgroups, 'cpuset');
  if (resources.memoryLimitBytes !== undefined) write(memory, 'memory.limit_in_bytes', resources.memoryLimitBytes.toString(), 'linux.resources.memory.limit');
  if (resources.memorySwapBytes !== undefined) write(memory, 'memory.memsw.limit_in_bytes', resources.memorySwapBytes.toString(), 'linux.resources.memory.swap');
  if (resources.memoryReservationBytes !== undefined) write(memory, 'memory.soft_limit_in_bytes', resources.memoryReservationBytes.toString(), 'linux.resources.memory.reservation');
  if (resources.cpuShares !== undefined) write(cpu, 'cpu.shares', resources.cpuShares.toString(), 'linux.resources.cpu.shares');
  if (resources.cpuPeriodMicros !== undefined) write(cpu, 'cpu.cfs_period_us', resources.cpuPeriodMicros.toString(), 'linux.resources.cpu.period');
  if (resources.cpuQuotaMicros !== undefined) write(cpu, 'cpu.cfs_quota_us', resources.cpuQuotaMicros.toString(), 'linux.resources.cpu.quota');
  if (resources.cpusetCpus !== undefined) write(cpuset, 'cpuset.cpus', resources.cpusetCpus, 'linux.resources.cpu.cpus');
  if (resources.cpusetMems !== undefined) write(cpuset, 'cpuset.mems', resources.cpusetMems, 'linux.resources.cpu.mems');
  if (resources.pidsLimit !== undefined) write(dirWith(cgroups, 'pids'), 'pids.max', resources.pidsLimit.toString(), 'linux.resources.pids.limit');
  const devicesDir = dirWith(cgroups, 'devices');
  if (devicesDir === undefined || (resources.devices.length === 0 && devices.length === 0)) return;
  const fromSpec = devices.map((device): DeviceRule => ({ allow: true, type: device.type === 'b' ? 'b' : 'c', major: device.major, minor: device.minor, access: 'rwm' }));
  for (const rule of [...resources.devices, ...fromSpec, ...allowedDevices]) {
    const entry = rule.type === 'a' ? 'a' : `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
    write(devicesDir, rule.allow ? 'devices.allow' : 'devices.deny', entry, 'linux.resources.devices');
  }
}

/** cgroup v2 (not this development host's mode; the mapping follows runc's fs2 driver). */
function applyV2(cgroups: ContainerCgroups, resources: Resources): void {
  const dir = cgroups.dirs[0]?.dir;
  if (resources.memoryLimitBytes !== undefined) write(dir, 'memory.max', resources.memoryLimitBytes.toString(), 'linux.resources.memory.limit');
  if (resources.memorySwapBytes !== undefined && resources.memoryLimitBytes !== undefined) {
    write(dir, 'memory.swap.max', (resources.memorySwapBytes - resources.memoryLimitBytes).toString(), 'linux.resources.memory.swap');
  }
  if (resources.memoryReservationBytes !== undefined) write(dir, 'memory.low', resources.memoryReservationBytes.toString(), 'linux.resources.memory.reservation');
  if (resources.cpuShares !== undefined) write(dir, 'cpu.weight', (1n + ((resources.cpuShares - 2n) * 9999n) / 262142n).toString(), 'linux.resources.cpu.shares');
  if (resources.cpuQuotaMicros !== undefined || resources.cpuPeriodMicros !== undefined) {
    const quota = resources.cpuQuotaMicros === undefined || resources.cpuQuotaMicros < 0n ? 'max' : resources.cpuQuotaMicros.toString();
    write(dir, 'cpu.max', `${quota} ${resources.cpuPeriodMicros ?? 100000n}`, 'linux.resources.cpu.quota');
  }
  if (resources.cpusetCpus !== undefined) write(dir, 'cpuset.cpus', resources.cpusetCpus, 'linux.resources.cpu.cpus');
  if (resources.cpusetMems !== undefined) write(dir, 'cpuset.mems', resources.cpusetMems, 'linux.resources.cpu.mems');
  if (resources.pidsLimit !== undefined) write(dir, 'pids.max', resources.pidsLimit.toString(), 'linux.resources.pids.limit');
}

export function procsFiles(cgroups: ContainerCgroups): string[] {
  return cgroups.dirs.map((entry) => join(entry.dir, 'cgroup.procs'));
}

/** The pids in the container's cgroup (from the first hierarchy that lists them). */
export function cgroupPids(cgroups: ContainerCgroups): number[] {
  for (const entry of cgroups.dirs) {
    try {
      return readFileSync(join(entry.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      continue;
    }
  }
  return [];
}

export function setFrozen(cgroups: ContainerCgroups, frozen: boolean): void {
  if (cgroups.mode === 'v2') {
    write(cgroups.dirs[0]?.dir, 'cgroup.freeze', frozen ? '1' : '0', 'pause');
    return;
  }
  const freezer = dirWith(cgroups, 'freezer');
  write(freezer, 'freezer.state', frozen ? 'FROZEN' : 'THAWED', frozen ? 'pause' : 'resume');
  // FREEZING is transient: wait (bounded) until the kernel reports the final state.
  for (let attempt = 0; attempt < 1000 && freezer !== undefined; attempt += 1) {
    if (readFileSync(join(freezer, 'freezer.state'), 'utf8').trim() === (frozen ? 'FROZEN' : 'THAWED')) return;
    sleepSync(1);
  }
}

export function isFrozen(cgroups: ContainerCgroups): boolean {
  try {
    if (cgroups.mode === 'v2') return /frozen 1/.test(readFileSync(join(cgroups.dirs[0]?.dir ?? '', 'cgroup.events'), 'utf8'));
    const freezer = dirWith(cgroups, 'freezer');
    return freezer !== undefined && readFileSync(join(freezer, 'freezer.state'), 'utf8').trim() !== 'THAWED';
  } catch {
    return false;
  }
}

/** Removes the directories create made, deepest first; waits (bounded) while exiting tasks still hold them. */
export function destroyCgroups(cgroups: ContainerCgroups): void {
  const failures: string[] = [];
  for (const dir of [...cgroups.created].sort((a, b) => b.length - a.length)) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        rmdirSync(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt === rmdirAttemptsMax) {
          failures.push(`${dir}: ${(error as Error).message}`);
          break;
        }
        sleepSync(10);
      }
    }
  }
  if (failures.length > 0) throw new RuntimeError(`cannot remove cgroups: ${failures.join('; ')}`);
}
