import { statSync } from 'node:fs';
import { CniCode, CniError } from '../../errors.js';
import { openRtnl, type Rtnl } from '../../net/rtnl.js';
import type { CniRequest } from '../../skel/plugin.js';

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

/** The errno code of an error opening a netns, if it has one. */
function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** True for the error opening a netns that does not exist (any more): DEL treats it as "nothing to do". */
export function isMissingNetns(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name } = error as { name?: unknown };
  const code = codeOf(error);
  return (name === 'NetnsError' || name === 'NetlinkError') && (code === 'ENOENT' || code === 'ENOTDIR');
}

function netnsError(path: string, reason: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, `Cannot open CNI_NETNS ${JSON.stringify(path)}: ${reason}`);
}

/**
 * An rtnetlink handle in the container's netns (CNI_NETNS). A path that is missing or not a network namespace is an
 * invalid environment (code 4) naming the path, reported before anything is changed. No stat first: opening says it.
 */
export function openContainerRtnl(path: string): Rtnl {
  if (path === '') throw netnsError(path, 'no such network namespace');
  try {
    return openRtnl(path);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw netnsError(path, 'no such network namespace');
    if (code === 'EINVAL') throw netnsError(path, 'not a network namespace');
    throw netnsError(path, error instanceof Error ? error.message : String(error));
  }
}

/** Runs `fn` with the container's rtnetlink handle (see openContainerRtnl), closing it however `fn` ends. */
export async function withContainerRtnl<T>(path: string, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const rtnl = openContainerRtnl(path);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}

/**
 * The host netns of a call: the request's (berthd sets it to its caller's), else the plugin's own option (tests,
 * the agent), else undefined, which is the netns this process runs in.
 */
export function hostNetnsOf(request: CniRequest, options: { readonly hostNetns?: string } = {}): string | undefined {
  return request.hostNetns ?? options.hostNetns;
}
