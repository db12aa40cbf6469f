import { sha256Hex } from '../../hash/sha256.js';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the plugin remembers which host device went into which container (tmpfs: after a reboot devices are home). */
export const stateDirDefault = '/run/berth/host-device';
/** A state directory holding more records than this is not one Berth wrote; GC stops reading there. */
export const recordsMax = 65_536;

/** One moved device: enough to bring it home under its own name, from the container or from wherever it landed. */
export interface HostDeviceRecord {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly originalName: string;
  readonly mac: string | undefined;
}

export function recordPath(stateDir: string, containerId: string, ifName: string): string {
  return join(stateDir, `${sha256Hex(`${containerId}/${ifName}`).slice(0, 32)}.json`);
}

function isRecord(value: unknown): value is HostDeviceRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return ['network', 'containerId', 'ifName', 'originalName'].every((key) => typeof record[key] === 'string') &&
    (record['mac'] === undefined || typeof record['mac'] === 'string');
}

/** Writes the record crash-safely: a temporary file renamed over the final one. */
export function writeRecord(stateDir: string, record: HostDeviceRecord): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = recordPath(stateDir, record.containerId, record.ifName);
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
  renameSync(temp, path);
  return path;
}

export function readRecord(path: string): HostDeviceRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function removeRecord(path: string): void {
  rmSync(path, { force: true });
}

/** Every record in the directory (unreadable or foreign files are skipped). */
export function listRecords(stateDir: string): { path: string; record: HostDeviceRecord }[] {
  let names: string[];
  try {
    names = readdirSync(stateDir).filter((name) => name.endsWith('.json')).slice(0, recordsMax);
  } catch {
    return [];
  }
  const out: { path: string; record: HostDeviceRecord }[] = [];
  for (const name of names) {
    const path = join(stateDir, name);
    const record = readRecord(path);
    if (record !== undefined) out.push({ path, record });
  }
  return out;
}
