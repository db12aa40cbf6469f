/** Crash-safe JSON files: write a temporary file, fsync it, rename it over the old one, fsync the directory. */
import { closeSync, fsyncSync, openSync, writeSync, renameSync, readFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { FirewallCode, FirewallError } from '../errors.js';

/** `compact`: no indentation (large machine-only records). */
export function writeJsonAtomic(path: string, value: unknown, options: { compact?: boolean } = {}): void {
  const directory = dirname(path);
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, `${options.compact === true ? JSON.stringify(value) : JSON.stringify(value, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    const directoryFd = openSync(directory, 'r');
    try {
      fsyncSync(directoryFd);
    } finally {
      closeSync(directoryFd);
    }
  } catch (error) {
    try { unlinkSync(temporary); } catch { /* already gone */ }
    throw new FirewallError(FirewallCode.State, `Cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The parsed file, or `fallback` when it does not exist. */
export function readJson(path: string, fallback: unknown): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new FirewallError(FirewallCode.State, `Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FirewallError(FirewallCode.State, `Cannot read ${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}
