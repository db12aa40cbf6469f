import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/** One mounted cgroup hierarchy: v1 (controllers from the mount options) or the v2 unified one. */
export interface Hierarchy {
  readonly version: 1 | 2;
  /** The directory name a container sees it under /sys/fs/cgroup (v1: the mount point's base name). */
  readonly name: string;
  readonly mountPoint: string;
  readonly mountRoot: string;
  readonly controllers: readonly string[];
  /** This process's cgroup in the hierarchy, as /proc/self/cgroup says. */
  readonly ownPath: string;
}

export interface CgroupLayout {
  /** 'v1': v1 controllers (possibly with an empty v2 beside, "hybrid"); 'v2': the unified hierarchy only. */
  readonly mode: 'v1' | 'v2';
  readonly hierarchies: readonly Hierarchy[];
}

/** Reads the host's cgroup mounts (/proc/self/mountinfo) and this process's place in them (/proc/self/cgroup). */
export function readCgroupLayout(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'), ownCgroups = readFileSync('/proc/self/cgroup', 'utf8')): CgroupLayout {
  const ownByKey = new Map<string, string>();
  for (const line of ownCgroups.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match) ownByKey.set(match[1] as string, match[2] as string);
  }
  const hierarchies: Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const fields = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    const mountRoot = fields[3] ?? '/';
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fsType === 'cgroup') {
      const controllers = superOptions.split(',').filter((option) => option !== 'rw' && option !== 'ro' && !option.startsWith('release_agent') && option !== 'clone_children' && option !== 'noprefix' && option !== 'xattr');
      const key = controllers.join(',');
      hierarchies.push({ version: 1, name: mountPoint.split('/').pop() ?? key, mountPoint, mountRoot, controllers, ownPath: ownByKey.get(key) ?? '/' });
    } else if (fsType === 'cgroup2') {
      const controllers = readFileOr(join(mountPoint, 'cgroup.controllers'), '').trim().split(/\s+/).filter(Boolean);
      hierarchies.push({ version: 2, name: mountPoint.split('/').pop() ?? 'unified', mountPoint, mountRoot, controllers, ownPath: ownByKey.get('') ?? '/' });
    }
  }
  const mode = hierarchies.some((hierarchy) => hierarchy.version === 1) ? 'v1' : 'v2';
  return { mode, hierarchies };
}

/** The container's directory in one hierarchy: an absolute cgroupsPath from the hierarchy's root, else from ours. */
export function containerDir(hierarchy: Hierarchy, cgroupsPath: string): string {
  if (isAbsolute(cgroupsPath)) return join(hierarchy.mountPoint, cgroupsPath);
  const ownFromMount = relative(hierarchy.mountRoot, hierarchy.ownPath);
  return join(hierarchy.mountPoint, ownFromMount.startsWith('..') ? '' : ownFromMount, cgroupsPath);
}

function readFileOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
