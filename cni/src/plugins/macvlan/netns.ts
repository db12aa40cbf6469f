import { CniCode, CniError } from '../../errors.js';
import { openRtnl, type Rtnl } from '../../net/rtnl.js';

/** True for the error opening a netns that does not exist (any more): DEL treats it as "nothing to do". */
export function isMissingNetns(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return (name === 'NetnsError' || name === 'NetlinkError') && (code === 'ENOENT' || code === 'ENOTDIR');
}

/**
 * An rtnetlink handle in the container's netns (CNI_NETNS). A path that is missing or not a network namespace is
 * an invalid environment (code 4) naming the path, rather than a stack trace.
 */
export function openContainerRtnl(netnsPath: string): Rtnl {
  try {
    return openRtnl(netnsPath);
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EINVAL') {
      throw new CniError(CniCode.InvalidEnvironment, `Cannot open CNI_NETNS "${netnsPath}": ${code === 'EINVAL' ? 'not a network namespace' : 'no such file'}`);
    }
    throw error;
  }
}

/** Opens `openRtnl(netnsPath)` (the current netns when undefined), runs `fn`, closes it however `fn` ends. */
export async function inNetns<T>(netnsPath: string | undefined, fn: (rtnl: Rtnl) => Promise<T>, container = false): Promise<T> {
  const rtnl = container && netnsPath !== undefined ? openContainerRtnl(netnsPath) : openRtnl(netnsPath);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}
