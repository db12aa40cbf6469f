import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { mergeHistories } from './history-codec.js';
import type { Operation } from './history.js';
import type { HistorySink } from './recorder.js';

/**
 * A sink that appends each event line to a file with one write(2), so a client killed mid-run leaves whole lines
 * for everything it invoked (the page cache keeps them even if the process dies).
 */
export class FileHistorySink implements HistorySink {
  readonly path: string;
  #fd: number | null;

  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, 'a', 0o600);
  }

  write(line: string): void {
    if (this.#fd === null) throw new Error(`Cannot write history to ${this.path}: sink is closed`);
    writeSync(this.#fd, line);
  }

  close(): void {
    if (this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
  }
}

/** Reads the files written by several clients and merges them into one history. */
export async function readHistoryFiles(paths: readonly string[]): Promise<Operation[]> {
  const files = await Promise.all(paths.map(async (path) => ({ source: path, text: await readFile(path, 'utf8') })));
  return mergeHistories(files);
}
