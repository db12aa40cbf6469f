import { createContainer } from './create.js';
import { deleteContainer, startContainer } from './lifecycle.js';
import { forwardSignalsUntil } from './signals.js';
import type { StateStore } from './state.js';

export interface RunOptions {
  readonly id: string;
  readonly bundle: string;
  readonly detach: boolean;
  readonly keep: boolean;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
}

/**
 * `run`: create and start. Detached, it returns at once; in the foreground the helper waits for the container
 * (relaying its pty when it has one), signals are forwarded, and the container is deleted at exit unless --keep.
 * Resolves with the exit code runc gives: the container's status, 128 + signal when killed.
 */
export async function runContainer(store: StateStore, options: RunOptions): Promise<number> {
  const created = await createContainer(store, {
    id: options.id, bundle: options.bundle, stdio: 'inherit',
    detach: options.detach,
    ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
    ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
  });
  if (options.detach) {
    created.helper.close();
    try {
      await startContainer(store, options.id);
    } catch (error) {
      await deleteContainer(store, options.id, true).catch(() => undefined);
      throw error;
    }
    return 0;
  }
  const exitCode = forwardSignalsUntil(created.record.pid, created.helper.exited);
  try {
    await startContainer(store, options.id);
  } catch (error) {
    await deleteContainer(store, options.id, true).catch(() => undefined);
    throw error;
  }
  const code = await exitCode;
  if (!options.keep) await deleteContainer(store, options.id, true);
  return code;
}
