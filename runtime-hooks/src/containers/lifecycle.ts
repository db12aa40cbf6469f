/** `berth ps|exec|stop|rm|logs|inspect` over the containers `berth run` made. */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { hookPaths } from '../hooks/paths.js';
import { RecordStore } from '../hooks/record.js';
import { finishContainer } from './finish.js';
import { RuntimeCli, containerRuntime } from './runtime.js';
import { ContainerStore, type ContainerMeta } from './store.js';

export interface ContainerView extends ContainerMeta {
  /** Live status: the runtime's for a container it knows, else the recorded one. */
  readonly state: string;
  readonly addresses: readonly string[];
}

const stopWaitPollMs = 50;
const monitorWaitMsMax = 30_000;

function runtimeOf(meta: ContainerMeta): RuntimeCli {
  return new RuntimeCli(meta.runtime, meta.runtimeRoot);
}

/** The runtime's status of the container: read in this process for berth-runtime (no `state` process per poll). */
async function statusOf(meta: ContainerMeta): Promise<string | undefined> {
  return containerRuntime(meta.runtime, meta.runtimeRoot).status(meta.id);
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function viewOf(meta: ContainerMeta, env: NodeJS.ProcessEnv): Promise<ContainerView> {
  const live = meta.status === 'exited' ? undefined : await statusOf(meta);
  const state = live ?? (meta.status === 'exited' ? `exited (${meta.exitCode ?? '?'})` : meta.status === 'running' ? 'exited (?)' : meta.status);
  const result = new RecordStore(hookPaths(env).recordDir).read(meta.id)?.network?.result as { ips?: { address?: string }[] } | undefined;
  return { ...meta, state, addresses: (result?.ips ?? []).map((ip) => ip.address ?? '').filter(Boolean) };
}

export async function listContainers(env: NodeJS.ProcessEnv, all: boolean): Promise<ContainerView[]> {
  const views = await Promise.all(new ContainerStore(hookPaths(env).root).list().map((meta) => viewOf(meta, env)));
  return all ? views : views.filter((view) => view.state === 'running' || view.state === 'created' || view.state === 'paused');
}

export function findContainer(reference: string, env: NodeJS.ProcessEnv): ContainerMeta {
  return new ContainerStore(hookPaths(env).root).find(reference);
}

async function waitNotRunning(meta: ContainerMeta, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await statusOf(meta);
    if (status !== 'running' && status !== 'paused') return true;
    if (Date.now() >= deadline) return false;
    await sleep(stopWaitPollMs);
  }
}

/** Waits (bounded) for a detached container's monitor to record the exit and finish the container. */
async function waitMonitor(meta: ContainerMeta): Promise<void> {
  const deadline = Date.now() + monitorWaitMsMax;
  while (alive(meta.monitorPid) && Date.now() < deadline) await sleep(stopWaitPollMs);
}

/** SIGTERM, then SIGKILL after `timeoutSeconds`, as `docker stop -t`. */
export async function stopContainer(reference: string, timeoutSeconds: number, env: NodeJS.ProcessEnv): Promise<ContainerMeta> {
  const meta = findContainer(reference, env);
  const runtime = runtimeOf(meta);
  if ((await statusOf(meta)) === 'running') {
    await runtime.call(['kill', meta.id, 'TERM']);
    if (!(await waitNotRunning(meta, timeoutSeconds * 1000))) {
      await runtime.call(['kill', meta.id, 'KILL']);
      await waitNotRunning(meta, monitorWaitMsMax);
    }
  }
  await waitMonitor(meta);
  return meta;
}

/** Removes a container; a running one only with `force` (killed first). Finishes whatever is left of it. */
export async function removeContainer(reference: string, force: boolean, env: NodeJS.ProcessEnv): Promise<ContainerMeta> {
  const meta = findContainer(reference, env);
  const runtime = runtimeOf(meta);
  const status = await statusOf(meta);
  if ((status === 'running' || status === 'paused') && !force) throw new Error(`Cannot remove container ${meta.name}: it is running (berth stop ${meta.name}, or berth rm -f)`);
  if (status === 'running' || status === 'paused') {
    await runtime.call(['kill', meta.id, 'KILL']);
    await waitNotRunning(meta, monitorWaitMsMax);
  }
  await waitMonitor(meta);
  await finishContainer(meta, undefined, env, true);
  return meta;
}

export async function execInContainer(reference: string, command: readonly string[], tty: boolean, env: NodeJS.ProcessEnv): Promise<number> {
  const meta = findContainer(reference, env);
  const runtime = runtimeOf(meta);
  if ((await statusOf(meta)) !== 'running') throw new Error(`Cannot exec in container ${meta.name}: it is not running`);
  return runtime.attached(['exec', ...(tty ? ['-t'] : []), meta.id, ...command], 'inherit').done;
}

const logChunkBytes = 64 * 1024;

/** Copies the log from `offset` to stdout; returns the new offset. */
function copyLog(file: string, offset: number): number {
  if (!existsSync(file)) return offset;
  const size = statSync(file).size;
  if (size <= offset) return offset;
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(logChunkBytes);
    let position = offset;
    while (position < size) {
      const count = readSync(fd, buffer, 0, Math.min(logChunkBytes, size - position), position);
      if (count === 0) break;
      process.stdout.write(Buffer.from(buffer.subarray(0, count)));
      position += count;
    }
    return position;
  } finally {
    closeSync(fd);
  }
}

/** A detached container's output; `follow` keeps printing until the container has exited. */
export async function showLogs(reference: string, follow: boolean, env: NodeJS.ProcessEnv): Promise<void> {
  const meta = findContainer(reference, env);
  const store = new ContainerStore(hookPaths(env).root);
  if (!meta.detached) throw new Error(`Container ${meta.name} ran in the foreground: its output went to the terminal, not to a log`);
  let offset = copyLog(store.logFile(meta.id), 0);
  while (follow) {
    const current = store.read(meta.id);
    const finished = current === undefined || current.status === 'exited';
    offset = copyLog(store.logFile(meta.id), offset);
    if (finished) break;
    await sleep(200);
  }
}
