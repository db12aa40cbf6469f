import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupPids, setFrozen } from './cgroups.js';
import { destroyContainer, killAll } from './destroy.js';
import { RuntimeError } from './errors.js';
import { runHooks, type InProcessHooks } from './hooks.js';
import type { Hook } from './spec.js';
import { parseSpec } from './validate.js';
import { isAlive, type ContainerRecord, type StateStore, type Status } from './state.js';

const startWaitMsMax = 10_000;
const fastPollMs = 3;

function notCreated(status: Status): RuntimeError {
  if (status === 'stopped') return new RuntimeError('cannot start a container that has stopped');
  return new RuntimeError(`cannot start an already ${status === 'paused' ? 'paused' : 'running'} container`);
}

/**
 * `start`: opens exec.fifo for reading, which releases the init blocked on its write end; reads the byte it writes,
 * then EOF, which comes when the init execs the container's process (its end is close-on-exec; the startContainer
 * hooks run in between). Then the fifo goes (the container is "running") and the poststart hooks run; if one fails
 * the container is killed, as runc does.
 */
export async function startContainer(store: StateStore, id: string): Promise<void> {
  const record = store.load(id);
  const status = store.status(record);
  if (status !== 'created') throw notCreated(status);
  const fifo = join(store.dir(id), 'exec.fifo');
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await readFifo(fd, record, 'byte'))) throw new RuntimeError(`container init (pid ${record.pid}) exited before it took the start signal`);
    await readFifo(fd, record, 'eof');
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  const spec = parseSpec(store.configText(id));
  try {
    await runHooks('poststart', spec.hooks.poststart, { ociVersion: record.ociVersion, id, status: 'running', pid: record.pid, bundle: record.bundle, annotations: record.annotations }, record.bundle);
  } catch (error) {
    killAll(record);
    throw error;
  }
}

/**
 * Polls the non-blocking fifo until the init's byte arrives ('byte') or its write end closes ('eof'). Before the
 * writer opens, a read also returns EOF, so the byte is awaited while the init lives, with a bound on the wait. The
 * waits between reads are timers, not a blocked thread: berthd serves other calls while a run it serves starts.
 */
async function readFifo(fd: number, record: ContainerRecord, until: 'byte' | 'eof'): Promise<boolean> {
  const buffer = Buffer.alloc(1);
  const readOnce = (): number => {
    try {
      return readSync(fd, buffer, 0, 1, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      return -1;
    }
  };
  const started = performance.now();
  for (;;) {
    const got = readOnce();
    if (until === 'byte' && got === 1) return true;
    if (until === 'eof' && got === 0) return true;
    // The init may have written, exec'd and exited since that read: what it wrote is still in the fifo.
    if (!isAlive(record.pid, record.pidStartTicks)) return until === 'eof' || readOnce() === 1;
    const waited = performance.now() - started;
    if (until === 'byte' && waited >= startWaitMsMax) throw new RuntimeError('container init did not take the start signal');
    // Both usually come within a millisecond or two (an exec): look again at once for that long, then every 1 ms.
    await (waited < fastPollMs ? new Promise((resolve) => setImmediate(resolve)) : sleep(1));
  }
}

export function killContainer(store: StateStore, id: string, signal: NodeJS.Signals | number, all: boolean): void {
  const record = store.load(id);
  const status = store.status(record);
  if (status === 'stopped' || status === 'creating') throw new RuntimeError('container not running');
  const pids = all ? cgroupPids(record.cgroups) : [record.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if (!all) throw new RuntimeError(`cannot signal the container: ${(error as Error).message}`);
    }
  }
}

/** `delete`: a stopped or created container goes; a running or paused one only with force (killed first). */
export async function deleteContainer(store: StateStore, id: string, force: boolean, inProcessHooks?: InProcessHooks): Promise<void> {
  let record: ContainerRecord;
  try {
    record = store.load(id);
  } catch (error) {
    if (force && error instanceof RuntimeError && error.message === 'container does not exist') return;
    throw error;
  }
  const status = store.status(record);
  if ((status === 'running' || status === 'paused' || status === 'creating') && !force) {
    throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status === 'paused') {
    killAll(record); // frozen tasks take SIGKILL once thawed
    setFrozen(record.cgroups, false);
  }
  await destroyContainer(store, record, poststopHooks(store, id), inProcessHooks);
}

/** The poststop hooks of the config saved at create; a missing or damaged copy means none (the record still goes). */
function poststopHooks(store: StateStore, id: string): readonly Hook[] {
  try {
    return parseSpec(store.configText(id)).hooks.poststop;
  } catch {
    return [];
  }
}

export function pauseContainer(store: StateStore, id: string): void {
  const record = store.load(id);
  const status = store.status(record);
  if (status !== 'running' && status !== 'created') throw new RuntimeError('container not running');
  setFrozen(record.cgroups, true);
}

export function resumeContainer(store: StateStore, id: string): void {
  const record = store.load(id);
  if (store.status(record) !== 'paused') throw new RuntimeError('container not paused');
  setFrozen(record.cgroups, false);
}
