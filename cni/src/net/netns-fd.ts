import { closeSync, constants, openSync } from 'node:fs';
import { NetlinkError } from './errors.js';

/**
 * Opens the netns file at `path` for an IFLA_NET_NS_FD attribute, runs `fn`, and closes the fd when `fn` settles. The
 * kernel resolves the fd while handling the request, so it must stay open until the reply.
 */
export async function withNetnsFd<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const errno = (error as { errno?: unknown }).errno;
    throw new NetlinkError(typeof errno === 'number' ? Math.abs(errno) : 5, `open netns ${path}`, { cause: error });
  }
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}
