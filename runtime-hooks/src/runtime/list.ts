import { statSync } from 'node:fs';
import { stateOf } from './state-view.js';
import type { StateStore } from './state.js';

interface Row {
  readonly ociVersion: unknown;
  readonly id: string;
  readonly pid: number;
  readonly status: string;
  readonly bundle: string;
  readonly rootfs: string;
  readonly created: string;
  readonly owner: string;
}

function ownerOf(store: StateStore, id: string): string {
  try {
    const uid = statSync(store.dir(id)).uid;
    return uid === 0 ? 'root' : `#${uid}`;
  } catch {
    return '';
  }
}

function rows(store: StateStore): Row[] {
  const result: Row[] = [];
  for (const id of store.ids()) {
    try {
      const state = stateOf(store, store.load(id));
      result.push({
        ociVersion: state['ociVersion'], id, pid: state['pid'] as number, status: state['status'] as string,
        bundle: state['bundle'] as string, rootfs: state['rootfs'] as string, created: state['created'] as string, owner: ownerOf(store, id),
      });
    } catch {
      continue; // a record being removed concurrently
    }
  }
  return result;
}

/** runc's tabwriter layout: columns at least 12 wide, 3 spaces of padding, the last one unpadded. */
function table(lines: readonly (readonly string[])[]): string {
  const widths = (lines[0] ?? []).map((_, column) => Math.max(12, ...lines.map((line) => (line[column] ?? '').length + 3)));
  return lines.map((line) => line.map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column] ?? 12))).join('')).join('\n');
}

export function listContainers(store: StateStore, format: string, quiet: boolean): string {
  const found = rows(store);
  if (quiet) return found.map((row) => `${row.id}\n`).join('');
  if (format === 'json') return `${JSON.stringify(found)}\n`;
  const header = ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'];
  return `${table([header, ...found.map((row) => [row.id, String(row.pid), row.status, row.bundle, row.created, row.owner])])}\n`;
}
