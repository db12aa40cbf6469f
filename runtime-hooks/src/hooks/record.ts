/**
 * The hooks' per-container record, `<runDir>/hooks/<containerId>.json`: what the stages did, written BEFORE each
 * effect (as an intent) and updated after it, so that poststop, a failed stage's own rollback, `berth rm` or GC can
 * undo exactly that, even after a SIGKILL between the effect and the update. Writes are write-then-rename (a reader
 * sees the old or the new record); changes are serialised per container by a flock on `<containerId>.lock`.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile, type ReleaseLock } from '@berth/netns-napi';
import type { PortMapping } from './annotations.js';
import { HookCode, HookError } from './errors.js';

export interface NetworkRecord {
  readonly name: string;
  /** The conflist as used for ADD (with the runtime's args), so DEL works even after the network is removed. */
  readonly conflist: Record<string, unknown>;
  readonly ifName: string;
  /** CNI_ARGS. */
  readonly args: string;
  readonly capabilityArgs: { readonly portMappings?: readonly PortMapping[]; readonly ips?: readonly string[] };
  /** How many plugins (from the first) ADD has started: DEL undoes those, the others never ran. */
  readonly started?: number;
  /** ADD's printed result once it succeeded (DEL's prevResult); absent while ADD is in flight or when it failed. */
  readonly result?: Record<string, unknown>;
}

export interface TaskRecord {
  readonly service: string;
  /** Set once berthd accepted the task: the secrets directory to bind, and the names it holds. */
  readonly secretsDir?: string;
  readonly secrets?: readonly string[];
}

export interface HookRecord {
  readonly version: 1;
  readonly containerId: string;
  /** The container's first process and its start time (clock ticks since boot), to tell it apart from a reused pid. */
  readonly pid: number;
  readonly pidStartTicks: string;
  /** The mount namespace the createRuntime stage ran in (`dev:ino`): where the secrets tmpfs lives. */
  readonly runtimeMountNamespace: string;
  readonly netnsPin?: string;
  /** The netns is the container's own (the runtime made it), not one joined by path that outlives the container. */
  readonly netnsOwned?: boolean;
  /** `none`: loopback brought up, nothing to undo. */
  readonly loopbackOnly?: boolean;
  readonly network?: NetworkRecord;
  readonly task?: TaskRecord;
  /** createContainer bound the secrets here (a path in the container's mount namespace, which dies with it). */
  readonly secretsMount?: string;
  readonly createRuntimeDone?: boolean;
  readonly createContainerDone?: boolean;
}

const recordBytesMax = 4 * 1024 * 1024;
/** A stage holding the lock longer than this is hung: the stage timeout is well below. */
export const recordLockWaitMsMax = 90_000;

export class RecordStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #file(containerId: string): string {
    return join(this.dir, `${containerId}.json`);
  }

  read(containerId: string): HookRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.#file(containerId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (text.length > recordBytesMax) throw new HookError(HookCode.InvalidInput, `Hook record ${this.#file(containerId)} is larger than ${recordBytesMax} bytes`);
    const value = JSON.parse(text) as HookRecord;
    if (value.version !== 1 || value.containerId !== containerId) {
      throw new HookError(HookCode.InvalidInput, `Hook record ${this.#file(containerId)} is not a version 1 record of ${containerId}`);
    }
    return value;
  }

  write(record: HookRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#file(record.containerId);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  remove(containerId: string): void {
    rmSync(this.#file(containerId), { force: true });
    rmSync(`${this.#file(containerId)}.tmp`, { force: true });
  }

  /** Container ids with a record, at most `limit`. */
  list(limit: number): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).slice(0, limit);
  }

  /** Runs `fn` holding the container's lock; the lock file stays (removing it would race another waiter). */
  async locked<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let release: ReleaseLock;
    try {
      release = await lockFile(join(this.dir, `${containerId}.lock`), { waitMsMax: recordLockWaitMsMax, pollMs: 10 });
    } catch (error) {
      throw new HookError(HookCode.Busy, `Cannot lock the hook record of ${containerId}: ${(error as Error).message}`, { cause: error });
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Removes the lock file too: only for final cleanup by a caller that knows no stage runs any more. */
  forgetLock(containerId: string): void {
    rmSync(join(this.dir, `${containerId}.lock`), { force: true });
  }
}
