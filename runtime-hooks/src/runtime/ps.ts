import { execFileSync } from 'node:child_process';
import { cgroupPids } from './cgroups.js';
import { RuntimeError } from './errors.js';
import type { StateStore } from './state.js';

/**
 * `ps`: the container's processes (its cgroup's). JSON is the list of pids (what containerd reads); the table is
 * ps(1)'s output, with the given ps options (default -ef), kept to the header and the container's lines, as runc does.
 */
export function containerProcesses(store: StateStore, id: string, format: string, psArgs: readonly string[]): string {
  const record = store.load(id);
  const pids = cgroupPids(record.cgroups);
  if (format === 'json') return `${JSON.stringify(pids)}\n`;
  if (format !== 'table') throw new RuntimeError(`invalid format option: ${format}`);
  const output = execFileSync('ps', psArgs.length > 0 ? [...psArgs] : ['-ef'], { encoding: 'utf8' });
  const [header = '', ...lines] = output.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new RuntimeError('ps output has no PID column');
  const wanted = new Set(pids.map(String));
  return `${[header, ...lines.filter((line) => wanted.has(line.trim().split(/\s+/)[pidColumn] ?? ''))].join('\n')}\n`;
}
