import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { SpecError } from './errors.js';

const symlinkFollowsMax = 40; // the kernel's own limit (ELOOP)

/** The bundle's rootfs as a real path. A relative root.path must stay inside the bundle after following symlinks. */
export function resolveRootfs(bundle: string, rootPath: string): string {
  const configured = resolve(bundle, rootPath);
  let real: string;
  try {
    real = realpathSync(configured);
  } catch {
    throw new SpecError('root.path', `${configured} does not exist`);
  }
  if (!isAbsolute(rootPath) && !isInside(realpathSync(bundle), real)) {
    throw new SpecError('root.path', `${rootPath} is a symlink that escapes the bundle (to ${real})`);
  }
  if (!statSync(real).isDirectory()) throw new SpecError('root.path', `${real} is not a directory`);
  return real;
}

export function isInside(parent: string, path: string): boolean {
  const rest = relative(parent, path);
  return rest === '' || (!rest.startsWith('..') && !isAbsolute(rest));
}

/**
 * A container path (absolute, no `..`) as a host path under rootfs, with every symlink that exists now resolved as
 * the container would see it: absolute targets from the container's root. A symlink whose target climbs above the
 * root is refused — it can only be there to make a mount land outside the rootfs. Missing parts stay as written.
 */
export function resolveInRootfs(rootfs: string, containerPath: string, field: string): string {
  const pending = containerPath.split('/').filter((part) => part !== '' && part !== '.');
  const resolved: string[] = [];
  let follows = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      if (resolved.length === 0) throw new SpecError(field, `${containerPath}: a symlink in it escapes the rootfs`);
      resolved.pop();
      continue;
    }
    const hostPath = join(rootfs, ...resolved, part);
    let isLink = false;
    try {
      isLink = lstatSync(hostPath).isSymbolicLink();
    } catch {
      resolved.push(part, ...pending.filter((rest) => rest !== '.'));
      if (resolved.includes('..')) throw new SpecError(field, `${containerPath}: a symlink in it escapes the rootfs`);
      break;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++follows > symlinkFollowsMax) throw new SpecError(field, `${containerPath}: too many levels of symlinks`);
    const target = readlinkSync(hostPath);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((piece) => piece !== '' && piece !== '.'));
  }
  return join(rootfs, ...resolved);
}
