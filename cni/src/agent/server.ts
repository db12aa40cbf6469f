import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { CniPlugin } from '../skel/plugin.js';
import { identifyCaller, ownNamespaces, type CallerNamespaces, type OwnNamespaces } from './caller.js';
import { CallReader, CNI_UPGRADE_PROTOCOL, encodeAnswer, type CniCall } from './frames.js';
import { CallLimiter } from './limiter.js';
import { runServedCall } from './serve.js';
import { ServedCallTiming, withServedCallTiming } from './timing.js';

export interface CniServerOptions {
  /** The plugins served, by executable name (`berth-bridge` …): the same objects the executables run. */
  readonly plugins: ReadonlyMap<string, CniPlugin>;
  /** Variables every served call sees besides the caller's CNI_* (berthd's BERTH_ROOT, BERTH_FAILPOINTS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly callsInFlightMax?: number;
  readonly callsQueuedMax?: number;
  /** After the 101, the shim's call frame must arrive within this (it sends it at once). */
  readonly callFrameTimeoutMs?: number;
  readonly logger?: Logger;
  /** Append a `berth-timing` line of the call's phases to each answer's stderr (the benchmark's breakdown). */
  readonly timing?: boolean;
}

export const callsInFlightMaxDefault = 32;
export const callsQueuedMaxDefault = 128;
export const callFrameTimeoutMsDefault = 10_000;
/** On close, in-flight calls get this long to finish. */
export const drainTimeoutMsDefault = 30_000;

export interface CniServerStats {
  /** Calls run, by "plugin COMMAND". */
  readonly served: Readonly<Record<string, number>>;
  /** Calls declined before anything ran (the shim execs them), by reason kind. */
  readonly declined: Readonly<Record<string, number>>;
  /** Upgrades answered 101 whose call frame never came (the shim gave up waiting, or died): nothing ran. */
  readonly abandoned: number;
  readonly inFlight: number;
  readonly queued: number;
}

type DeclineKind = 'protocol' | 'unknown-plugin' | 'closing' | 'busy' | 'caller';

const pathPattern = /^\/v1\/cni\/(berth-[a-z0-9-]{1,40})$/;

/** An upgrade refused with an HTTP error (the native client then runs the call itself, or gives up). */
export function httpDecline(socket: Duplex, status: number, reason: string, code = 'CNI_DECLINED'): void {
  const body = JSON.stringify({ error: { code, message: reason } });
  const statusText = ({ 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' } as Record<number, string>)[status] ?? 'Service Unavailable';
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** An upgrade accepted: from here the socket speaks `protocol`. */
export function httpSwitch(socket: Duplex, protocol: string): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`);
}

/** The socket's file descriptor (a unix socket accepted by node:net). */
export function socketFd(socket: Duplex): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * berthd's side of the CNI shim: HTTP upgrades `POST /v1/cni/<plugin>` with `Upgrade: berth-cni/1` on the local API
 * socket. berthd answers 101 only once it has decided to serve (known plugin, a turn within the limits, a root caller
 * in this mount namespace); anything else is an HTTP error and the shim execs the plugin. After the 101 the shim sends
 * its call frame, and only then does anything run: a shim that gave up waiting never sent it, so a call runs once,
 * here or exec'd, never both.
 */
export class CniServer {
  readonly #plugins: ReadonlyMap<string, CniPlugin>;
  readonly #env: Readonly<Record<string, string>>;
  readonly #limiter: CallLimiter;
  readonly #frameTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #timing: boolean;
  readonly #own: OwnNamespaces;
  readonly #served = new Map<string, number>();
  readonly #declined = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  #abandoned = 0;
  #closing = false;

  constructor(options: CniServerOptions) {
    this.#plugins = options.plugins;
    this.#env = options.env ?? {};
    this.#limiter = new CallLimiter(options.callsInFlightMax ?? callsInFlightMaxDefault, options.callsQueuedMax ?? callsQueuedMaxDefault);
    this.#frameTimeoutMs = options.callFrameTimeoutMs ?? callFrameTimeoutMsDefault;
    this.#logger = options.logger;
    this.#timing = options.timing ?? false;
    this.#own = ownNamespaces();
  }

  stats(): CniServerStats {
    return {
      served: Object.fromEntries(this.#served), declined: Object.fromEntries(this.#declined), abandoned: this.#abandoned,
      inFlight: this.#limiter.inFlight, queued: this.#limiter.queued,
    };
  }

  /** The http.Server 'upgrade' listener. */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const name = pathPattern.exec(request.url ?? '')?.[1];
    const plugin = name === undefined ? undefined : this.#plugins.get(name);
    if (request.method !== 'POST' || (request.headers.upgrade ?? '').toLowerCase() !== CNI_UPGRADE_PROTOCOL) {
      return this.#decline(socket, 'protocol', 400, `expected POST /v1/cni/<plugin> with Upgrade: ${CNI_UPGRADE_PROTOCOL}`);
    }
    if (name === undefined || plugin === undefined) return this.#decline(socket, 'unknown-plugin', 404, `berthd does not serve ${request.url ?? ''}`);
    if (this.#closing) return this.#decline(socket, 'closing', 503, 'berthd is stopping');
    const turn = this.#limiter.tryEnter();
    if (turn === undefined) return this.#decline(socket, 'busy', 503, `berthd has ${this.#limiter.queued} calls waiting already`);
    const timing = this.#timing ? new ServedCallTiming(performance.now()) : undefined;
    const fd = socketFd(socket);
    const caller = fd === undefined ? { declined: 'the connection has no file descriptor' } : identifyCaller(fd, this.#own);
    if ('declined' in caller) {
      void turn.then((release) => release());
      return this.#decline(socket, 'caller', 503, caller.declined);
    }
    httpSwitch(socket, CNI_UPGRADE_PROTOCOL);
    timing?.mark('identify caller');
    const work = this.#serve(plugin, caller, socket, head, turn, timing).finally(() => {
      caller.release();
      this.#running.delete(work);
    });
    this.#running.add(work);
  };

  /** Stops taking calls (new ones are declined) and waits, bounded, for those in flight. */
  async close(drainTimeoutMs = drainTimeoutMsDefault): Promise<void> {
    this.#closing = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, drainTimeoutMs); });
    await Promise.race([Promise.allSettled([...this.#running]), timeout]);
    clearTimeout(timer);
  }

  #decline(socket: Duplex, kind: DeclineKind, status: number, reason: string): void {
    this.#declined.set(kind, (this.#declined.get(kind) ?? 0) + 1);
    this.#logger?.debug({ kind, reason }, 'CNI call declined; the shim runs the plugin itself');
    httpDecline(socket, status, reason);
  }

  async #serve(plugin: CniPlugin, caller: CallerNamespaces, socket: Duplex, head: Buffer, turn: Promise<() => void>,
    timing: ServedCallTiming | undefined): Promise<void> {
    const release = await turn;
    try {
      timing?.mark('turn');
      const call = await readCall(socket, head, this.#frameTimeoutMs);
      timing?.mark('call frame');
      if (call === undefined) {
        this.#abandoned += 1;
        return;
      }
      const key = `${plugin.name} ${call.env['CNI_COMMAND'] ?? ''}`;
      this.#served.set(key, (this.#served.get(key) ?? 0) + 1);
      const answer = await withServedCallTiming(timing, () => runServedCall(plugin, call, { env: this.#env, hostNetns: caller.hostNetns }));
      socket.end(encodeAnswer(timing === undefined ? answer : { ...answer, stderr: answer.stderr + timing.line() }));
    } catch (error) {
      this.#logger?.warn({ error: error instanceof Error ? error.message : String(error), pid: caller.pid }, 'CNI call over the socket failed');
      socket.destroy();
    } finally {
      release();
    }
  }
}

/** The call frame, or undefined when the shim hung up or sent nothing in time (then nothing runs). */
function readCall(socket: Duplex, head: Buffer, timeoutMs: number): Promise<CniCall | undefined> {
  return new Promise((resolve, reject) => {
    const reader = new CallReader();
    const finish = (outcome: CniCall | undefined, error?: unknown): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (error !== undefined) reject(error);
      else resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const call = reader.push(chunk);
        if (call !== undefined) finish(call);
      } catch (error) {
        finish(undefined, error);
      }
    };
    const onEnd = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    if (head.length > 0) onData(head);
  });
}
