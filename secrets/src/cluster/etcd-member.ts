import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '@berth/cni';
import { assert } from './assert.js';
import { etcdArguments, type EtcdMemberConfig } from './etcd-config.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { findEtcdProcesses, isOwnEtcd, isSameProcess, readProcess, type ProcessEntry } from './process-table.js';
import { writeFileDurably } from './secure-file.js';

/** Every wait and retry of the supervisor has a named limit, checked at construction. */
export interface EtcdSupervisorLimits {
  readonly restartBackoffMsInitial: number;
  readonly restartBackoffMsMax: number;
  /** More restarts than this within `restartWindowMs` and the supervisor gives up (state `failed`). */
  readonly restartsInWindowMax: number;
  readonly restartWindowMs: number;
  /** A run at least this long resets the backoff. */
  readonly healthyRunMs: number;
  readonly stopTimeoutMs: number;
  readonly adoptedPollIntervalMs: number;
}

export const etcdSupervisorLimitsDefault: EtcdSupervisorLimits = {
  restartBackoffMsInitial: 200,
  restartBackoffMsMax: 8_000,
  restartsInWindowMax: 10,
  restartWindowMs: 120_000,
  healthyRunMs: 10_000,
  stopTimeoutMs: 10_000,
  adoptedPollIntervalMs: 200,
};

export type EtcdMemberState = 'stopped' | 'running' | 'backoff' | 'retiring' | 'failed';

export type EtcdMemberEvent =
  | { readonly kind: 'spawned'; readonly pid: number }
  | { readonly kind: 'adopted'; readonly pid: number }
  | { readonly kind: 'replaced'; readonly pids: readonly number[] }
  | { readonly kind: 'exited'; readonly pid: number; readonly code: number | null; readonly signal: string | null }
  | { readonly kind: 'restarting'; readonly delayMs: number }
  | { readonly kind: 'failed'; readonly restarts: number };

export interface EtcdMemberOptions {
  readonly config: EtcdMemberConfig;
  /** Written on every start; informational (the /proc scan by data dir is what prevents doubles). */
  readonly pidFile: string;
  readonly etcdBinary?: string;
  readonly limits?: Partial<EtcdSupervisorLimits>;
  readonly logger?: Logger;
  readonly onEvent?: (event: EtcdMemberEvent) => void;
}

/**
 * Runs one etcd member as a supervised child. On start it first looks for etcd processes already using the data
 * dir (an orphan left by a killed berthd): one with exactly the wanted command line is adopted, anything else is
 * stopped, so two members never share a data dir. etcd runs in its own session with its logs in a file, so it
 * survives its parent's death intact and can be adopted. Unexpected exits restart it with capped backoff.
 */
export class EtcdMember {
  readonly #options: EtcdMemberOptions;
  readonly #limits: EtcdSupervisorLimits;
  readonly #binary: string;
  readonly #args: readonly string[];
  readonly #logger: Logger;
  #state: EtcdMemberState = 'stopped';
  #pid: number | undefined;
  /** The supervised process as /proc named it when it was spawned or adopted: signals go only to that one. */
  #process: Pick<ProcessEntry, 'pid' | 'startTime'> | undefined;
  #child: ChildProcess | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAtMs = 0;
  #consecutiveFailures = 0;
  #restartTimesMs: number[] = [];
  #restartsTotal = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: EtcdMemberOptions) {
    this.#options = options;
    this.#limits = { ...etcdSupervisorLimitsDefault, ...options.limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isInteger(value) || value <= 0) throw new RangeError(`EtcdMember limit ${name} must be a positive integer, not ${value}`);
    }
    this.#binary = options.etcdBinary ?? '/usr/bin/etcd';
    this.#args = etcdArguments(options.config);
    this.#logger = options.logger ?? createLogger('etcd-member');
  }

  get state(): EtcdMemberState { return this.#state; }
  get pid(): number | undefined { return this.#pid; }
  get restartsTotal(): number { return this.#restartsTotal; }
  get config(): EtcdMemberConfig { return this.#options.config; }

  /** Adopts a matching orphan or spawns etcd; resolves once the process exists (not once it has quorum). */
  start(): Promise<{ pid: number; adopted: boolean }> {
    return this.#serialize(async () => {
      this.#consecutiveFailures = 0;
      this.#restartTimesMs = [];
      return this.#launch();
    });
  }

  /** SIGTERM, then SIGKILL after `stopTimeoutMs`; no restart follows. Idempotent. */
  stop(): Promise<void> {
    return this.#serialize(async () => {
      clearTimeout(this.#restartTimer);
      this.#state = 'stopped';
      const running = this.#process;
      this.#detach();
      if (running !== undefined) await terminate(running, this.#limits.stopTimeoutMs);
      await rm(this.#options.pidFile, { force: true });
    });
  }

  /**
   * The member is about to be removed from the cluster, after which etcd exits by itself: from now on an exit is
   * not restarted. `stop()` still ends it if it lingers.
   */
  retire(): void {
    clearTimeout(this.#restartTimer);
    if (this.#state === 'running' || this.#state === 'backoff') this.#state = 'retiring';
  }

  /** The removal did not happen: supervise again (restarting the member if it exited meanwhile). */
  unretire(): void {
    if (this.#state !== 'retiring') return;
    this.#state = 'running';
    if (this.#pid === undefined) void this.start().catch((error: unknown) => this.#logger.error({ err: error }, 'cannot restart etcd after a failed removal'));
  }

  /** For tests and tooling: forget the process without stopping it, as a killed berthd would. */
  abandon(): void {
    clearTimeout(this.#restartTimer);
    this.#state = 'stopped';
    this.#detach();
  }

  #serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Only a process whose /proc/PID/exe is the configured binary and that runs as our uid (root) is ours: adopted when
   * its command line is exactly the wanted one, stopped otherwise. Anything else that merely looks like etcd on this
   * data dir (a renamed binary, a script with the same argv) is never adopted nor signalled.
   */
  async #launch(): Promise<{ pid: number; adopted: boolean }> {
    const dataDir = this.#options.config.dataDir;
    const binary = await realpath(this.#binary).catch(() => this.#binary);
    // (one /proc scan: the impostors are logged, ours are adopted or stopped)
    const candidates = await findEtcdProcesses(dataDir);
    const impostors = candidates.filter((entry) => !isOwnEtcd(entry, binary));
    if (impostors.length > 0) this.#logger.warn({ pids: impostors.map((entry) => entry.pid), exes: impostors.map((entry) => entry.exe), dataDir }, 'ignoring processes that look like etcd on this data dir but do not run the configured binary as root');
    const existing = candidates.filter((entry) => isOwnEtcd(entry, binary));
    const wanted = [this.#binary, ...this.#args];
    const same = existing.filter((entry) => entry.argv.length === wanted.length && entry.argv.every((arg, i) => arg === wanted[i]));
    if (existing.length === 1 && same.length === 1 && same[0] !== undefined) {
      this.#watchAdopted(same[0]);
      this.#options.onEvent?.({ kind: 'adopted', pid: same[0].pid });
      this.#logger.info({ pid: same[0].pid, dataDir }, 'adopted running etcd member');
      return { pid: same[0].pid, adopted: true };
    }
    if (existing.length > 0) {
      const pids = existing.map((entry) => entry.pid);
      this.#logger.warn({ pids, dataDir }, 'stopping etcd processes on this data dir before starting our own');
      await Promise.all(existing.map((entry) => terminate(entry, this.#limits.stopTimeoutMs)));
      this.#options.onEvent?.({ kind: 'replaced', pids });
    }
    const pid = await this.#spawn();
    return { pid, adopted: false };
  }

  async #spawn(): Promise<number> {
    const { dataDir, logFile } = this.#options.config;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(dirname(logFile), { recursive: true, mode: 0o700 });
    const logFd = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ETCD_')));
      child = spawn(this.#binary, this.#args, { detached: true, stdio: ['ignore', 'ignore', logFd], env });
    } finally {
      closeSync(logFd);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (error) => reject(new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot start etcd ${this.#binary}: ${error.message}`)));
    });
    assert(pid > 0, 'a spawned etcd has a pid');
    this.#child = child;
    this.#pid = pid;
    this.#process = { pid, startTime: (await readProcess(pid))?.startTime ?? '' };
    this.#state = 'running';
    this.#startedAtMs = Date.now();
    child.once('exit', (code, signal) => this.#onExit(pid, code, signal));
    await this.#writePidFile(pid);
    this.#options.onEvent?.({ kind: 'spawned', pid });
    this.#logger.info({ pid, dataDir }, 'started etcd member');
    return pid;
  }

  #watchAdopted(entry: ProcessEntry): void {
    const pid = entry.pid;
    this.#pid = pid;
    this.#process = entry;
    this.#state = 'running';
    this.#startedAtMs = Date.now();
    const poll = async (): Promise<void> => {
      if (this.#pid !== pid) return;
      const same = await isSameProcess(entry);
      if (this.#pid !== pid) return;
      if (!same) {
        this.#onExit(pid, null, null);
        return;
      }
      this.#pollTimer = setTimeout(() => void poll(), this.#limits.adoptedPollIntervalMs);
    };
    this.#pollTimer = setTimeout(() => void poll(), this.#limits.adoptedPollIntervalMs);
    void this.#writePidFile(pid);
  }

  #detach(): void {
    clearTimeout(this.#pollTimer);
    this.#child?.removeAllListeners('exit');
    this.#child = undefined;
    this.#pid = undefined;
    this.#process = undefined;
  }

  #onExit(pid: number, code: number | null, signal: string | null): void {
    if (this.#pid !== pid) return;
    this.#detach();
    this.#options.onEvent?.({ kind: 'exited', pid, code, signal });
    if (this.#state !== 'running') return;
    this.#logger.warn({ pid, code, signal }, 'etcd member exited unexpectedly');
    const nowMs = Date.now();
    if (nowMs - this.#startedAtMs >= this.#limits.healthyRunMs) this.#consecutiveFailures = 0;
    this.#restartTimesMs = [...this.#restartTimesMs.filter((t) => nowMs - t < this.#limits.restartWindowMs), nowMs];
    if (this.#restartTimesMs.length > this.#limits.restartsInWindowMax) {
      this.#state = 'failed';
      this.#logger.error({ restarts: this.#restartTimesMs.length }, 'etcd member keeps exiting; giving up');
      this.#options.onEvent?.({ kind: 'failed', restarts: this.#restartTimesMs.length });
      return;
    }
    const delayMs = Math.min(this.#limits.restartBackoffMsMax, this.#limits.restartBackoffMsInitial * 2 ** this.#consecutiveFailures);
    this.#consecutiveFailures += 1;
    this.#state = 'backoff';
    this.#options.onEvent?.({ kind: 'restarting', delayMs });
    this.#restartTimer = setTimeout(() => {
      void this.#serialize(async () => {
        if (this.#state !== 'backoff') return;
        this.#restartsTotal += 1;
        await this.#launch().catch((error: unknown) => {
          this.#logger.error({ err: error }, 'restarting etcd failed');
          this.#state = 'running';
          this.#onExit(-1, null, null);
        });
      });
    }, delayMs);
  }

  async #writePidFile(pid: number): Promise<void> {
    const file = this.#options.pidFile;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFileDurably(file, `${pid}\n`);
  }
}

/**
 * SIGTERM, wait up to `timeoutMs` for the process to be gone, then SIGKILL and wait again (bounded). Node has no
 * pidfd, so the process's identity (pid + start time) is checked again right before each signal: a pid that was
 * reused by another process in the meantime is never signalled.
 */
export async function terminate(target: Pick<ProcessEntry, 'pid' | 'startTime'>, timeoutMs: number): Promise<void> {
  const pollMs = 25;
  const signal = async (name: NodeJS.Signals): Promise<boolean> => {
    if (!(await isSameProcess(target))) return false;
    try { process.kill(target.pid, name); } catch { /* already gone */ }
    return true;
  };
  if (!(await signal('SIGTERM'))) return;
  for (let waitedMs = 0; waitedMs < timeoutMs; waitedMs += pollMs) {
    if (!(await isSameProcess(target))) return;
    await sleep(pollMs);
  }
  if (!(await signal('SIGKILL'))) return;
  for (let waitedMs = 0; waitedMs < 5_000; waitedMs += pollMs) {
    if (!(await isSameProcess(target))) return;
    await sleep(pollMs);
  }
  throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot stop etcd process ${target.pid}: still alive after SIGKILL`);
}
