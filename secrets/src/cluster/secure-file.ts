import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ClusterError, ClusterErrorCode } from './errors.js';

/**
 * Writes a key, certificate or state file so that no one else can have prepared it and a crash leaves the old or the
 * new content: a fresh temporary name created exclusively (O_EXCL) without following links (O_NOFOLLOW), mode
 * 0600, fsynced, renamed over the target, then the directory fsynced so the rename itself is durable.
 */
export async function writeFileDurably(path: string, content: string, mode = 0o600): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/**
 * Refuses a state directory another user could have prepared or can change: it must be a real directory (not a
 * link) owned by this process's user, not writable by group or others, and with `private`, not accessible by them
 * at all. A missing directory is fine (it is created 0700 later).
 */
export async function assertOwnDirectory(path: string, options: { private: boolean }): Promise<void> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined) return;
  const uid = process.geteuid?.() ?? 0;
  const forbidden = options.private ? 0o077 : 0o022;
  if (!stats.isDirectory()) throw new ClusterError(ClusterErrorCode.StateInvalid, `Refusing state directory ${path}: not a directory (a symbolic link or a file is in its place)`);
  if (stats.uid !== uid) throw new ClusterError(ClusterErrorCode.StateInvalid, `Refusing state directory ${path}: owned by uid ${stats.uid}, not ${uid}`);
  if ((stats.mode & forbidden) !== 0) {
    throw new ClusterError(ClusterErrorCode.StateInvalid, `Refusing state directory ${path}: mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')} lets other users ${options.private ? 'in' : 'write'}; chmod ${options.private ? '700' : 'go-w'} it`);
  }
}
