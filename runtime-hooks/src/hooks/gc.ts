import { isAlive } from '../runtime/state.js';
import { oneLine } from './errors.js';
import { RecordStore } from './record.js';
import { release, type StageContext } from './stages.js';

export const recordsScannedMax = 65_536;

/**
 * Releases every recorded container whose first process is gone (a hook SIGKILLed before its rollback, a runtime
 * that never ran poststop). Returns the ids released; a failure on one container does not stop the others.
 */
export async function collectGarbage(context: StageContext): Promise<string[]> {
  const store = new RecordStore(context.paths.recordDir);
  const released: string[] = [];
  for (const containerId of store.list(recordsScannedMax)) {
    const record = store.read(containerId);
    if (record === undefined || isAlive(record.pid, record.pidStartTicks)) continue;
    try {
      await release(context, containerId);
      released.push(containerId);
    } catch (error) {
      context.logger.error({ containerId, error: oneLine(error) }, 'gc: release failed; kept for the next run');
    }
  }
  return released;
}
