import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync,
  constants as fsConstants,
} from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../errors.js';
import { formatIp, tryParseIp, type IpAddress } from '../net/ip.js';
import type { AllocationState, Owner } from './allocator.js';
import { noFailpoints, type Failpoint } from './failpoints.js';

/** Every file berth-ipam writes starts as `<dir>/.tmp-…` and is renamed into place; these never parse as an IP. */
export const TEMP_PREFIX = '.tmp-';
export const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
export const LOCK_FILE = 'lock';
/** host-local's separator between container ID and interface name; read with or without the CR. */
const LINE_BREAK = '\r\n';
/** A reservation file holds an ID (≤1024) and an interface name; anything longer is not one of ours. */
const reservationBytesMax = 4096;
/** Bounds a directory scan: far more files than the largest subnet anyone allocates from on one host. */
export const storeEntriesMax = 1_048_576;

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function ioError(action: string, path: string, error: unknown): CniError {
  return new CniError(CniCode.IoFailure, `Cannot ${action} ${path}: ${(error as Error).message}`);
}

/** Parses a reservation file: "id\r\nifname" (host-local's format, which berth-ipam writes too) or a bare "id". */
export function parseReservation(text: string): Owner | undefined {
  const [containerId, ifName] = text.split('\n').map((line) => line.trim());
  if (containerId === undefined || containerId === '') return undefined;
  return ifName === undefined || ifName === '' ? { containerId } : { containerId, ifName };
}

export function formatReservation(owner: Owner): string {
  return `${owner.containerId}${LINE_BREAK}${owner.ifName ?? ''}`;
}

/** What a directory scan found: the allocator's state plus leftovers of killed writers. */
export interface StoreSnapshot extends AllocationState {
  readonly staleTempFiles: readonly string[];
}

/**
 * The on-disk reservations of one network, host-local's layout: `<dataDir>/<network>/<ip>` holding
 * "containerID\r\nifname", `last_reserved_ip.<set>` holding the round-robin cursor, and `lock` (flock) guarding
 * every read-modify-write. Every write goes to a temp file, is fsynced, renamed into place, and the directory is
 * fsynced before the result is reported (`sync`), so a crash leaves either no reservation or a complete one.
 * Callers hold the lock for the whole operation; then every temp file present is a dead writer's and is removed.
 */
export class ReservationStore {
  readonly dir: string;
  readonly lockPath: string;
  readonly #failpoint: Failpoint;

  constructor(dataDir: string, network: string, failpoint: Failpoint = noFailpoints) {
    this.dir = join(dataDir, network);
    this.lockPath = join(this.dir, LOCK_FILE);
    this.#failpoint = failpoint;
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  /** Creates the network's directory (and dataDir) if missing. */
  ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw ioError('create IPAM directory', this.dir, error);
    }
  }

  /** Reads every reservation and cursor. A missing directory is an empty store. */
  read(): StoreSnapshot {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { reservations: new Map(), lastReserved: new Map(), staleTempFiles: [] };
      throw ioError('read IPAM directory', this.dir, error);
    }
    if (names.length > storeEntriesMax) throw ioError('read IPAM directory', this.dir, new Error(`${names.length} entries exceed ${storeEntriesMax}`));
    const reservations = new Map<string, Owner>();
    const lastReserved = new Map<number, IpAddress>();
    const staleTempFiles: string[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) staleTempFiles.push(name);
      else if (name.startsWith(LAST_RESERVED_PREFIX)) this.#readCursor(name, lastReserved);
      else this.#readReservation(name, reservations);
    }
    return { reservations, lastReserved, staleTempFiles };
  }

  #readText(name: string): string | undefined {
    try {
      const data = readFileSync(join(this.dir, name));
      return data.length > reservationBytesMax ? undefined : data.toString('utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR')) return undefined;
      throw ioError('read', join(this.dir, name), error);
    }
  }

  #readCursor(name: string, into: Map<number, IpAddress>): void {
    const index = name.slice(LAST_RESERVED_PREFIX.length);
    if (!/^(0|[1-9]\d{0,3})$/.test(index)) return;
    const address = tryParseIp((this.#readText(name) ?? '').trim());
    if (address !== undefined) into.set(Number(index), address);
  }

  #readReservation(name: string, into: Map<string, Owner>): void {
    const address = tryParseIp(name);
    if (address === undefined) return;
    const owner = parseReservation(this.#readText(name) ?? '');
    if (owner !== undefined) into.set(formatIp(address), owner);
  }

  /** Removes temp files left by writers that died; only call with the lock held. */
  removeStaleTemps(names: readonly string[]): void {
    for (const name of names) this.#unlink(name);
  }

  /** Records `address` for `owner` and moves the set's round-robin cursor to it. Visible only after `sync`. */
  reserve(address: IpAddress, owner: Owner, setIndex: number): void {
    const text = formatIp(address);
    this.#writeAtomically(text, formatReservation(owner));
    this.#failpoint('ipam-after-reserve');
    // The cursor is a hint (an unreadable or lost one only changes which free address comes next; the reader ignores
    // garbage), so its contents are not fsynced: one fsync less per ADD. The directory fsync in `sync` covers its rename.
    this.#writeAtomically(`${LAST_RESERVED_PREFIX}${setIndex}`, text, { fsync: false });
    this.#failpoint('ipam-after-last-reserved');
  }

  /** Removes a reservation by its canonical address text; a missing one is fine (DEL is idempotent). */
  release(key: string): void {
    if (tryParseIp(key) === undefined || formatIp(tryParseIp(key) as IpAddress) !== key) {
      throw new TypeError(`ReservationStore.release: "${key}" is not a canonical IP address`);
    }
    this.#unlink(key);
  }

  /** Makes renames and unlinks durable: fsync of the directory. */
  sync(): void {
    let fd: number | undefined;
    try {
      fd = openSync(this.dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      fsyncSync(fd);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw ioError('sync IPAM directory', this.dir, error);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  #unlink(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw ioError('remove', join(this.dir, name), error);
    }
  }

  #writeAtomically(name: string, content: string, options: { fsync: boolean } = { fsync: true }): void {
    // Unique enough with the pid; O_EXCL turns a collision into an error rather than a shared file. (No node:crypto:
    // loading it costs ~2 ms of every plugin start.)
    const suffix = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    const temp = join(this.dir, `${TEMP_PREFIX}${name}-${process.pid}-${suffix}`);
    const target = join(this.dir, name);
    let fd: number | undefined;
    try {
      fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      writeSync(fd, content);
      if (options.fsync) fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      this.#failpoint('ipam-after-temp-write');
      renameSync(temp, target);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      try { unlinkSync(temp); } catch { /* never created, or already renamed */ }
      throw ioError('write', target, error);
    }
  }
}
