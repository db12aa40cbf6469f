import { createContainer } from './create.js';
import { deleteContainer, startContainer } from './lifecycle.js';
import { signalForwarder, type SignalSource } from './signals.js';
import type { StartInit } from './helper.js';
import type { InProcessHooks } from './hooks.js';
import type { StateStore } from './state.js';

/** Where a foreground run's berth-init and signals come from; by default this process (its child, its signals). */
export interface InitSource {
  /** Where berth-init runs (default: a child of this process, on its stdio). */
  readonly startInit?: StartInit;
  /** Where the container's signals come from (default: this process's own, see signalForwarder). */
  readonly signals?: SignalSource;
}

export interface RunOptions extends InitSource {
  readonly id: string;
  readonly bundle: string;
  readonly detach: boolean;
  readonly keep: boolean;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
  /** Hooks the embedding caller runs itself (see InProcessHooks). */
  readonly inProcessHooks?: InProcessHooks;
}

/**
 * `run`: create and start. Detached, it returns at once; in the foreground the helper waits for the container
 * (relaying its pty when it has one), signals are forwarded, and the container is deleted at exit unless --keep.
 * Resolves with the exit code runc gives: the container's status, 128 + signal when killed.
 */
export async function runContainer(store: StateStore, options: RunOptions): Promise<number> {
  const hooks = options.inProcessHooks;
  const remove = (): Promise<void> => deleteContainer(store, options.id, true, hooks).catch(() => undefined);
  // In the foreground, signals are held from the start and go to the container once it exists.
  const signals = options.detach ? undefined : signalForwarder(options.signals);
  try {
    const created = await createContainer(store, {
      id: options.id, bundle: options.bundle, stdio: 'inherit',
      detach: options.detach,
      ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
      ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      ...(hooks !== undefined ? { inProcessHooks: hooks } : {}),
      ...(options.startInit !== undefined ? { startInit: options.startInit } : {}),
    });
    if (options.detach) created.helper.close();
    signals?.forwardTo(created.record.pid);
    try {
      await startContainer(store, options.id);
    } catch (error) {
      await remove();
      throw error;
    }
    if (options.detach) return 0;
    const code = await created.helper.exited;
    if (!options.keep) await deleteContainer(store, options.id, true, hooks);
    return code;
  } finally {
    signals?.stop();
  }
}
