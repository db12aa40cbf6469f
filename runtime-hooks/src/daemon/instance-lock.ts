import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tryLockFile } from '@berth/netns-napi';
import { assertOwnDirectory } from '@berth/secrets';

/**
 * One berthd per state root: an exclusive flock on `$BERTH_ROOT/berthd.lock`, held for the daemon's life. The kernel
 * drops it when berthd exits, even by SIGKILL, so there is no stale pid file to judge and no process name to trust.
 */
export async function claimInstance(root: string): Promise<() => Promise<void>> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await assertOwnDirectory(root, { private: false });
  const file = join(root, 'berthd.lock');
  const release = tryLockFile(file);
  if (release === null) throw new Error(`Another berthd is running with state root ${root} (it holds ${file})`);
  return async () => release();
}
