import { join } from 'node:path';
import { hex, isBindMount, MountFlag, type MountOptions } from './mount-options.js';
import type { PlanRecord } from './plan-records.js';
import type { Device, Mount } from './spec.js';

/** A spec mount after validation and resolution on the host (see prepare.ts). */
export interface ResolvedMount {
  readonly mount: Mount;
  /** The host path of the destination inside the rootfs, symlinks resolved. */
  readonly target: string;
  /** For binds: the host path of the source (relative sources are relative to the bundle). */
  readonly source: string;
  readonly sourceIsFile: boolean;
  readonly options: MountOptions;
}

/** What a `cgroup` mount shows: one directory per v1 hierarchy (name as under /sys/fs/cgroup), or the v2 directory. */
export type CgroupView =
  | { readonly version: 1; readonly hierarchies: readonly { readonly name: string; readonly hostDir: string }[] }
  | { readonly version: 2; readonly hostDir: string };

function mountRecord(source: string, target: string, type: string, flags: number, data: string): PlanRecord {
  return ['mount', source, target, type, hex(flags), data];
}

/** Flags that a bind mount only takes on a remount. */
const bindRemountMask = ~(MountFlag.bind | MountFlag.recursive | MountFlag.remount);

function bindSteps(source: string, target: string, options: MountOptions): PlanRecord[] {
  const steps: PlanRecord[] = [mountRecord(source, target, '', options.flags & (MountFlag.bind | MountFlag.recursive), '')];
  const extra = options.flags & bindRemountMask;
  if (extra !== 0) steps.push(mountRecord('', target, '', MountFlag.bind | MountFlag.remount | extra, ''));
  return steps;
}

/** The steps of one spec mount: its mount point, the mount (a bind is remounted for its flags), its propagation. */
export function mountSteps(resolved: ResolvedMount, cgroups: CgroupView): PlanRecord[] {
  const { mount, target, options } = resolved;
  const bind = isBindMount(mount.type, options);
  const steps: PlanRecord[] = [[bind && resolved.sourceIsFile ? 'mkfile' : 'mkdir', target]];
  if (mount.type === 'cgroup' || mount.type === 'cgroup2') {
    steps.push(...cgroupSteps(target, options, cgroups));
  } else if (bind) {
    steps.push(...bindSteps(resolved.source, target, options));
  } else {
    steps.push(mountRecord(mount.source, target, mount.type, options.flags & ~MountFlag.remount, options.data));
  }
  for (const flags of options.propagation) steps.push(mountRecord('', target, '', flags, ''));
  return steps;
}

/**
 * As runc without a cgroup namespace: v1 gets a tmpfs with the container's own directory of each hierarchy bound
 * under it (so /sys/fs/cgroup/memory/memory.limit_in_bytes is the container's limit); v2 gets its directory bound.
 */
function cgroupSteps(target: string, options: MountOptions, cgroups: CgroupView): PlanRecord[] {
  const bindOptions: MountOptions = { ...options, flags: (options.flags & bindRemountMask) | MountFlag.bind, propagation: [] };
  if (cgroups.version === 2) return bindSteps(cgroups.hostDir, target, bindOptions);
  const tmpfsFlags = MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec;
  const steps: PlanRecord[] = [mountRecord('tmpfs', target, 'tmpfs', tmpfsFlags, 'mode=755')];
  for (const hierarchy of cgroups.hierarchies) {
    const directory = join(target, hierarchy.name);
    steps.push(['mkdir', directory], ...bindSteps(hierarchy.hostDir, directory, bindOptions));
  }
  if ((options.flags & MountFlag.readonly) !== 0) steps.push(mountRecord('', target, '', tmpfsFlags | MountFlag.remount | MountFlag.readonly, 'mode=755'));
  return steps;
}

/** runc's default devices, made in a /dev that the spec mounts as a fresh filesystem. */
const defaultDevices: readonly Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const devSymlinks: readonly (readonly [target: string, name: string])[] = [
  ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr'],
  ['pts/ptmx', 'ptmx'],
];

/**
 * Device nodes (defaults, then the spec's, which win) and runc's /dev symlinks, under the rootfs's fresh /dev. With
 * `bindFromHost` (a user namespace, where mknod is refused) each node is the host's, bound onto an empty file.
 */
export function deviceSteps(rootfs: string, devices: readonly Device[], options: { withCore: boolean; bindFromHost: boolean }): PlanRecord[] {
  const byPath = new Map<string, Device>();
  for (const device of [...defaultDevices, ...devices]) byPath.set(device.path, device);
  const steps: PlanRecord[] = [];
  for (const device of byPath.values()) {
    const path = join(rootfs, device.path);
    steps.push(['mkdir', join(path, '..')]);
    if (options.bindFromHost) {
      steps.push(['mkfile', path], mountRecord(device.path, path, '', MountFlag.bind, ''));
      continue;
    }
    steps.push(['mknod', path, device.type === 'u' ? 'c' : device.type, String(device.major), String(device.minor),
      device.fileMode.toString(8), String(device.uid), String(device.gid)]);
  }
  const links = options.withCore ? [...devSymlinks, ['/proc/kcore', 'core'] as const] : devSymlinks;
  for (const [linkTarget, name] of links) steps.push(['symlink', linkTarget, join(rootfs, 'dev', name)]);
  return steps;
}
