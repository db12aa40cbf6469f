import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, mount, umount2 } from '@berth/netns-napi';

/**
 * Each container's secrets live on their own tmpfs: never on disk, capped in size (a versioned dir is written
 * beside the current one during a swap, so the cap holds twice the grants), nosuid/nodev/noexec, 0700 root.
 */
export const secretsTmpfsBytesDefault = 16 * 1024 * 1024;

export function secretsRoot(runDir: string): string {
  return join(runDir, 'secrets');
}

export function secretsDirOf(runDir: string, containerId: string): string {
  return join(secretsRoot(runDir), containerId);
}

/** A mount point has another device than its parent directory. */
export async function isMountPoint(path: string): Promise<boolean> {
  const [self, parent] = await Promise.all([stat(path).catch(() => undefined), stat(dirname(path)).catch(() => undefined)]);
  return self !== undefined && parent !== undefined && self.dev !== parent.dev;
}

export async function mountSecretsTmpfs(dir: string, sizeBytes = secretsTmpfsBytesDefault): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await isMountPoint(dir)) return;
  mount('tmpfs', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `size=${sizeBytes},mode=0700,uid=0,gid=0`);
}

/**
 * Empties, unmounts and removes a container's secrets dir; idempotent. The files are removed before the unmount,
 * so a bind of the dir still held in a container's mount namespace shows nothing either.
 */
export async function unmountSecretsTmpfs(dir: string): Promise<void> {
  if (await stat(dir).catch(() => undefined) === undefined) return;
  const mounted = await isMountPoint(dir);
  if (mounted) {
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
    umount2(dir, MNT_DETACH);
  }
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
