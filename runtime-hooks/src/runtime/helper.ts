import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { encodeRecords, type PlanRecord } from './plan-records.js';

/**
 * Where scripts/build.sh puts the C helper: runtime-hooks/build/berth-init, found from this module whether it runs
 * compiled (dist/src/runtime) or as TypeScript source (src/runtime, under tap).
 */
export const helperPath = fileURLToPath(new URL(import.meta.url.includes('/dist/src/') ? '../../../build/berth-init' : '../../build/berth-init', import.meta.url));

/** What the helper and the container's init say on the sync socket, one line each. */
export type HelperMessage =
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'sync'; readonly point: string }
  | { readonly kind: 'ready' }
  | { readonly kind: 'error'; readonly step: string; readonly detail: string }
  | { readonly kind: 'eof' };

export function parseMessage(line: string): HelperMessage {
  const [word = '', ...rest] = line.split(' ');
  const text = rest.join(' ');
  if (word === 'pid' && /^\d+$/.test(text)) return { kind: 'pid', pid: Number(text) };
  if (word === 'sync') return { kind: 'sync', point: text };
  if (word === 'ready') return { kind: 'ready' };
  if (word === 'error') {
    const colon = text.indexOf(': ');
    return colon < 0 ? { kind: 'error', step: text, detail: '' } : { kind: 'error', step: text.slice(0, colon), detail: text.slice(colon + 2) };
  }
  return { kind: 'error', step: 'protocol', detail: `unexpected message from berth-init: ${line}` };
}

/**
 * A running berth-init: the plan goes out on fd 3 (a socketpair), messages come back on it. The helper's own stdio
 * is the caller's choice; for create it is berth-runtime's own, which the container inherits.
 */
export class InitHelper {
  readonly #process: ChildProcess;
  readonly #socket: Duplex;
  readonly #lines: string[] = [];
  #buffer = '';
  #ended = false;
  #wake: (() => void) | undefined;
  readonly exited: Promise<number>;

  constructor(plan: readonly PlanRecord[], stdio: StdioOptions) {
    const streams = Array.isArray(stdio) ? [...stdio.slice(0, 3), 'pipe'] : [stdio, stdio, stdio, 'pipe'];
    this.#process = spawn(helperPath, [], { stdio: streams as StdioOptions, env: {} });
    const socket = this.#process.stdio[3];
    if (socket === null || socket === undefined) throw new Error('berth-init: no sync socket');
    this.#socket = socket as Duplex;
    this.exited = new Promise((resolve) => {
      this.#process.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal))));
      this.#process.on('error', () => resolve(255));
    });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      const lines = this.#buffer.split('\n');
      this.#buffer = lines.pop() ?? '';
      this.#lines.push(...lines);
      this.#wake?.();
    });
    const end = (): void => {
      this.#ended = true;
      this.#wake?.();
    };
    this.#socket.on('end', end);
    this.#socket.on('close', end);
    this.#socket.on('error', end);
    this.#socket.write(encodeRecords(plan));
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  async next(): Promise<HelperMessage> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return parseMessage(line);
      if (this.#ended) return { kind: 'eof' };
      await new Promise<void>((resolve) => { this.#wake = resolve; });
      this.#wake = undefined;
    }
  }

  reply(records: readonly PlanRecord[]): void {
    this.#socket.write(encodeRecords(records));
  }

  /** Drops our end of the sync socket so berth-runtime can exit while the container lives on. */
  close(): void {
    this.#socket.destroy();
    this.#process.unref();
  }
}

export function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
