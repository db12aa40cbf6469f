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

/** A running berth-init as its driver sees it: the sync socket's messages, its pid, its exit status. */
export interface InitChannel {
  /** The helper's pid (undefined when its spawn failed). */
  readonly pid: number | undefined;
  /** Resolves with the helper's exit code (the container's, in the foreground modes; 128+n when killed). */
  readonly exited: Promise<number>;
  next(): Promise<HelperMessage>;
  reply(records: readonly PlanRecord[]): void;
  /** Drops our end of the sync socket so the driver can go on (or exit) while the container lives on. */
  close(): void;
}

/** Starts berth-init for a plan: by default a child of this process (spawnInit); a caller may start it elsewhere. */
export type StartInit = (plan: readonly PlanRecord[]) => Promise<InitChannel>;

/** The helper's messages on the sync socket, one per line; the plan and replies go the other way. */
class SyncSocket {
  readonly #socket: Duplex;
  readonly #lines: string[] = [];
  #buffer = '';
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(socket: Duplex) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
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
    // berth-init closes its end whole: nothing more can be said either way (and an HTTP server's upgraded socket,
    // half-open by default, would otherwise stay open).
    socket.on('end', () => {
      end();
      socket.destroy();
    });
    socket.on('close', end);
    socket.on('error', end);
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

  send(records: readonly PlanRecord[]): void {
    this.#socket.write(encodeRecords(records));
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * berth-init as a child of this process: the plan goes out on its fd 3 (a socketpair), messages come back on it. The
 * helper's own stdio is the caller's choice; for create it is berth-runtime's own, which the container inherits.
 */
export function spawnInit(plan: readonly PlanRecord[], stdio: StdioOptions): InitChannel {
  const streams = Array.isArray(stdio) ? [...stdio.slice(0, 3), 'pipe'] : [stdio, stdio, stdio, 'pipe'];
  const child: ChildProcess = spawn(helperPath, [], { stdio: streams as StdioOptions, env: {} });
  const socket = child.stdio[3];
  if (socket === null || socket === undefined) throw new Error('berth-init: no sync socket');
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal))));
    child.on('error', () => resolve(255));
  });
  const channel = attachedInit(plan, socket as Duplex, child.pid, exited);
  return { ...channel, close: () => { channel.close(); child.unref(); } };
}

/**
 * berth-init started by another process (berth's front end, for a run berthd serves) with `socket` as its fd 3: the
 * same conversation over a socket this process was handed, with the pid and exit status that process reports.
 */
export function attachedInit(plan: readonly PlanRecord[], socket: Duplex, pid: number | undefined, exited: Promise<number>): InitChannel {
  const sync = new SyncSocket(socket);
  sync.send(plan);
  return { pid, exited, next: () => sync.next(), reply: (records) => sync.send(records), close: () => sync.destroy() };
}

export function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
