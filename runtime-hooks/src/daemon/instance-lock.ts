import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readProcessArgv } from '@berth/secrets';

/**
 * One berthd per state root: `$BERTH_ROOT/berthd.pid` names the running one. A pid file whose process is gone
 * (berthd was SIGKILLed) or is not a berthd is stale and taken over.
 */
export async function claimInstance(root: string): Promise<() => Promise<void>> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const file = join(root, 'berthd.pid');
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
    const argv = await readProcessArgv(pid);
    if (argv !== undefined && argv.some((arg) => /berthd(\.js)?$/.test(arg))) {
      throw new Error(`Another berthd (pid ${pid}) is running with state root ${root}`);
    }
  }
  await writeFile(`${file}.tmp`, `${process.pid}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return async () => {
    const current = await readFile(file, 'utf8').catch(() => '');
    if (Number(current.trim()) === process.pid) await rm(file, { force: true });
  };
}
