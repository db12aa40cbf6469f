import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isFrozen, type ContainerCgroups } from './cgroups.js';
import { RuntimeError } from './errors.js';

/**
 * A container's record under the state root: <root>/<id>/state.json (this), config.json (the bundle's config as
 * created, for exec and the poststop hooks) and exec.fifo (present until `start`).
 */
export interface ContainerRecord {
  readonly id: string;
  readonly bundle: string;
  readonly rootfs: string;
  /** The container's first process as the host sees it; 0 until the helper reported it. */
  readonly pid: number;
  /** Its start time (field 22 of /proc/PID/stat), so a recycled pid is never taken for the container. */
  readonly pidStartTicks: string;
  readonly created: string;
  readonly ociVersion: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly cgroups: ContainerCgroups;
}

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

const idPattern = /^[\w+.-]+$/;

export function validateId(id: string): void {
  if (!idPattern.test(id) || id === '.' || id === '..') throw new RuntimeError(`invalid id format: ${id}`);
}

export class StateStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Claims the id: the directory's creation is the atomic "does it exist" check. */
  reserve(id: string): string {
    validateId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('container with given ID already exists');
      throw error;
    }
    return this.dir(id);
  }

  save(record: ContainerRecord): void {
    const file = join(this.dir(record.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  load(id: string): ContainerRecord {
    validateId(id);
    try {
      return JSON.parse(readFileSync(join(this.dir(id), 'state.json'), 'utf8')) as ContainerRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RuntimeError('container does not exist');
      throw new RuntimeError(`cannot read the state of ${id}: ${(error as Error).message}`);
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.root).filter((name) => idPattern.test(name) && existsSync(join(this.root, name, 'state.json'))).sort();
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  configText(id: string): string {
    return readFileSync(join(this.dir(id), 'config.json'), 'utf8');
  }

  status(record: ContainerRecord): Status {
    if (!isAlive(record.pid, record.pidStartTicks)) return record.pid === 0 ? 'creating' : 'stopped';
    if (isFrozen(record.cgroups)) return 'paused';
    return existsSync(join(this.dir(record.id), 'exec.fifo')) ? 'created' : 'running';
  }
}

/** Field 22 (start time) and field 3 (state) of /proc/PID/stat, or undefined when the process is gone. */
export function processStat(pid: number): { readonly startTicks: string; readonly state: string; readonly parentPid: number } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', parentPid: Number(rest[1]), startTicks: rest[19] ?? '' };
}

export function isAlive(pid: number, startTicks: string): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.startTicks === startTicks && stat.state !== 'Z' && stat.state !== 'X';
}
