import { closeSync, constants as fsConstants, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { native } from './native.js';
import { NetnsError, toNetnsError } from './errors.js';
import { MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, mount, umount2 } from './mount.js';

/** Where iproute2 (`ip netns`) pins named network namespaces. */
export const NETNS_RUN_DIR = '/run/netns';
/** The calling thread's own netns (`/proc/self` would name the main thread's, even from a worker). */
export const THREAD_NETNS_PATH = '/proc/thread-self/ns/net';

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const CLONE_NEWNET = native.constants.CLONE_NEWNET;
// O_NONBLOCK: a hostile path naming a FIFO must not hang the process in open(2).
const OPEN_NS_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

/** Identity of a network namespace: the nsfs device and inode of its file. */
export interface NetnsId { dev: bigint; ino: bigint }

/** `/run/netns/NAME` after checking NAME is `[A-Za-z0-9_.-]{1,64}` and not `.`/`..`. Throws NetnsError EINVAL. */
export function namedNetnsPath(name: string): string {
  if (!NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw new NetnsError('EINVAL', 'validate', name,
      `Invalid netns name ${JSON.stringify(name)}: expected 1-64 characters of [A-Za-z0-9_.-], not "." or ".."`);
  }
  return `${NETNS_RUN_DIR}/${name}`;
}

/** The (dev, ino) of the namespace file at `path` (follows bind mounts and /proc magic links). */
export function netnsId(path: string): NetnsId {
  try {
    const st = statSync(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch (error) {
    throw toNetnsError(error, `identify netns at ${path}`, path);
  }
}

/** The netns of the calling thread. */
export function currentNetnsId(): NetnsId {
  return netnsId(THREAD_NETNS_PATH);
}

export function sameNetns(a: NetnsId, b: NetnsId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function openNs(path: string, action: string): number {
  try {
    return openSync(path, OPEN_NS_FLAGS);
  } catch (error) {
    throw toNetnsError(error, action, path);
  }
}

function restoreOrAbort(originalFd: number, path: string): void {
  try {
    native.setns(originalFd, CLONE_NEWNET);
  } catch (error) {
    // Going on in the wrong netns would apply later work to the wrong host or container: stop here.
    const reason = error instanceof Error ? error.message : String(error);
    writeSync(2, `berth: fatal: cannot restore the original netns after entering ${path}: ${reason}; aborting\n`);
    process.abort();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn` synchronously with the calling thread inside the netns at `path`, then moves the thread back, also when
 * `fn` throws. Sockets created inside stay bound to that netns. `fn` must not be async: a returned thenable is a
 * programmer error (TypeError, thrown after restoring). If restoring fails the process aborts.
 */
export function withNetns<T>(path: string, fn: () => T): T {
  const targetFd = openNs(path, `enter netns ${path}`);
  let originalFd: number;
  try {
    originalFd = openNs(THREAD_NETNS_PATH, `save the current netns before entering ${path}`);
  } catch (error) {
    closeSync(targetFd);
    throw error;
  }
  try {
    try {
      native.setns(targetFd, CLONE_NEWNET);
    } catch (error) {
      throw toNetnsError(error, `enter netns ${path}`, path);
    }
    let result: T;
    try {
      result = fn();
    } finally {
      restoreOrAbort(originalFd, path);
    }
    if (isThenable(result)) {
      // The async part would run in the original netns; refuse rather than silently do the wrong thing.
      Promise.resolve(result).catch(() => undefined);
      throw new TypeError(`withNetns(${path}): fn returned a promise; fn must be synchronous (only its synchronous part would run inside the netns)`);
    }
    return result;
  } finally {
    closeSync(targetFd);
    closeSync(originalFd);
  }
}

// As iproute2: /run/netns must be a shared mount point so pins propagate to every mount namespace.
function ensureSharedRunDir(): void {
  mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC);
      return;
    } catch (error) {
      // EINVAL: not a mount point yet; make it one by binding it on itself, once.
      if (!(error instanceof NetnsError) || error.code !== 'EINVAL' || attempt > 0) throw error;
      mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC);
    }
  }
}

/**
 * Creates a new network namespace pinned at `/run/netns/NAME`, exactly as `ip netns add NAME` does, and returns the
 * path. The calling thread's netns does not change. Throws NetnsError EINVAL for a bad name, EEXIST if it exists.
 */
export function createNamedNetns(name: string): string {
  const path = namedNetnsPath(name);
  ensureSharedRunDir();
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0);
  } catch (error) {
    const wrapped = toNetnsError(error, `create netns ${name}`, path);
    if (wrapped.code === 'EEXIST') {
      throw new NetnsError('EEXIST', 'open', path, `Cannot create netns ${name}: ${path} already exists`, { cause: error });
    }
    throw wrapped;
  }
  closeSync(fd);
  try {
    native.unshareNetnsBoundTo(path);
  } catch (error) {
    unlinkSync(path);
    throw toNetnsError(error, `create netns ${name}`, path);
  }
  return path;
}

/** Removes `/run/netns/NAME` as `ip netns delete` does (lazy unmount, unlink). A missing netns is success. */
export function deleteNamedNetns(name: string): void {
  unpinNamespace(namedNetnsPath(name));
}

/**
 * Keeps the namespace behind `source` (e.g. /proc/PID/ns/net) alive after its last process is gone by bind-mounting
 * it on `pinPath` (an empty file is created, its directory too). Pinning the same namespace again is a no-op; a pin
 * file holding another namespace is EEXIST.
 */
export function pinNamespace(source: string, pinPath: string): void {
  const wanted = netnsId(source);
  try {
    if (sameNetns(netnsId(pinPath), wanted)) return;
  } catch (error) {
    if (!(error instanceof NetnsError) || error.code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(pinPath), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(pinPath, fsConstants.O_RDONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o444);
  } catch (error) {
    throw toNetnsError(error, `create the pin file ${pinPath}`, pinPath);
  }
  closeSync(fd);
  const pinned = netnsId(pinPath);
  if (statSync(pinPath).size !== 0 || pinned.dev !== statSync(dirname(pinPath), { bigint: true }).dev) {
    throw new NetnsError('EEXIST', 'validate', pinPath, `Cannot pin ${source} at ${pinPath}: the file holds something else`);
  }
  mount(source, pinPath, 'none', MS_BIND);
}

/** Undoes pinNamespace (or createNamedNetns): lazy unmount and unlink; a pin that is gone (or was never mounted) is
 * success. */
export function unpinNamespace(pinPath: string): void {
  try {
    umount2(pinPath, MNT_DETACH);
  } catch (error) {
    // EINVAL: a file that is not (or no longer) a mount point; ENOENT: already gone.
    if (!(error instanceof NetnsError) || (error.code !== 'EINVAL' && error.code !== 'ENOENT')) throw error;
  }
  try {
    unlinkSync(pinPath);
  } catch (error) {
    const wrapped = toNetnsError(error, `remove the namespace pin ${pinPath}`, pinPath);
    if (wrapped.code !== 'ENOENT') throw wrapped;
  }
}
