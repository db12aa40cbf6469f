import { statSync } from 'node:fs';
import { CniCode, CniError } from '../../errors.js';
import { openRtnl, type Rtnl } from '../../net/rtnl.js';

/** True when CNI_NETNS names an existing file (DEL finds it gone, or empty, when the container already went away). */
export function netnsExists(path: string): boolean {
  if (path === '') return false;
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function netnsError(path: string, reason: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, `Cannot open CNI_NETNS ${JSON.stringify(path)}: ${reason}`);
}

/**
 * An rtnetlink handle in the container's netns. A missing path, or a file that is not a network namespace, is an
 * invalid CNI_NETNS (code 4), reported before anything is changed.
 */
export function openContainerRtnl(path: string): Rtnl {
  if (!netnsExists(path)) throw netnsError(path, 'no such network namespace');
  try {
    return openRtnl(path);
  } catch (error) {
    throw netnsError(path, error instanceof Error ? error.message : String(error));
  }
}

/** Runs `fn` with the container's rtnetlink handle, closing it afterwards. */
export async function withContainerRtnl<T>(path: string, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const rtnl = openContainerRtnl(path);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}
