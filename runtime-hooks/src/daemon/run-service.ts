/**
 * berthd serving `berth run` in the foreground for berth's native front end (runtime-hooks/front/berth.c), as dockerd
 * serves `docker run`: the runtime, the hook stages and the CNI plugins are already loaded and warm here, so a run
 * costs no Node start. The container stays the caller's: the front end starts berth-init itself, so the container
 * inherits its stdio, and its exit comes back from the front end's wait. The protocol, on the local API socket:
 *
 *   berth -> berthd  POST /v1/run, Upgrade: berth-run/1                 (declined: berth execs the Node CLI)
 *   berth -> berthd  u32 bytes, then NUL-terminated: cwd, argc, argv…, BERTH_* variables
 *   berthd -> berth  "fallback\n"          nothing ran: exec the Node CLI (not a foreground run on berth-runtime, or
 *                                          a command line the CLI must explain)
 *                    "spawn TOKEN\n"       connect again with POST /v1/run/TOKEN (same Upgrade) and start
 *                                          berth-init with that connection as its fd 3; berthd drives it from there
 *   berth -> berthd  "helper PID\n", then "signal N\n" for each signal berth receives, "exit CODE\n" when berth-init
 *                    (so the container) ended
 *   berthd -> berth  "done CODE BYTES\n" and BYTES of text for berth's stderr: berth exits with CODE
 *
 * A caller is served only when it is root in berthd's mount, network and pid namespaces (paths, the host side of the
 * network and pids mean the same here) and uses berthd's state root; the second connection only from the process
 * that started the run, and the pid it reports must be its child. A caller
 * that hangs up before "exit" gets its container killed and released, as a `berth run` that is killed would.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpDecline, httpSwitch, identifyCaller, ownNamespaces, socketFd, type Logger, type OwnNamespaces } from '@berth/cni';
import { parseRunArgv } from '../cli/commands/containers.js';
import { runContainer, servableRun, type ForegroundIo } from '../containers/run.js';
import { hookPaths } from '../hooks/paths.js';
import { namespaceKey } from '../hooks/process.js';
import { attachedInit, type InitChannel } from '../runtime/helper.js';
import type { PlanRecord } from '../runtime/plan-records.js';
import type { SignalSource } from '../runtime/signals.js';
import { processStat } from '../runtime/state.js';

export const RUN_UPGRADE_PROTOCOL = 'berth-run/1';
const frameBytesMax = 256 * 1024;
const frameTimeoutMs = 10_000;
/** From "spawn" to berth-init attached and its pid reported: a fork and an exec of a small C program. */
const attachTimeoutMs = 10_000;
const controlLineBytesMax = 64;
/** Runs served at once; beyond it berth runs the container itself (the Node CLI), as without berthd. */
const runsInFlightMax = 256;
const cleanPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the front end sends first: where it runs, its command line, its BERTH_* settings. */
export interface RunCall {
  readonly cwd: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The call frame's payload; throws on anything malformed. */
export function decodeRunCall(payload: Buffer): RunCall {
  const fields = payload.toString('utf8').split('\0');
  if (fields.pop() !== '') throw new Error('the call frame does not end with NUL');
  const [cwd = '', count = '', ...rest] = fields;
  if (!cwd.startsWith('/')) throw new Error('the working directory is not absolute');
  if (!/^\d{1,4}$/.test(count) || Number(count) > rest.length) throw new Error('bad argument count');
  const args = rest.slice(0, Number(count));
  const env: Record<string, string> = { PATH: cleanPath };
  for (const entry of rest.slice(Number(count))) {
    const match = /^(BERTH_[A-Z0-9_]+)=(.*)$/s.exec(entry);
    if (match === null) throw new Error('only BERTH_* variables may be sent');
    env[match[1] ?? ''] = match[2] ?? '';
  }
  return { cwd, args, env };
}

/** A control connection after the upgrade: the call frame, then the front end's lines. */
class Control {
  readonly socket: Duplex;
  #buffer = Buffer.alloc(0);
  #frame: ((payload: Buffer | undefined) => void) | undefined;
  #framed = false;
  #closed = false;
  #helperPid: ((pid: number | undefined) => void) | undefined;
  #exit: ((code: number) => void) | undefined;
  #signal: ((signal: number) => void) | undefined;
  readonly helperPid: Promise<number | undefined>;
  readonly exited: Promise<number>;
  readonly closed: Promise<void>;

  constructor(socket: Duplex, head: Buffer) {
    this.socket = socket;
    this.helperPid = new Promise((resolve) => { this.#helperPid = resolve; });
    this.exited = new Promise((resolve) => { this.#exit = resolve; });
    this.closed = new Promise((resolve) => {
      const close = (): void => {
        if (this.#closed) return;
        this.#closed = true;
        this.#frame?.(undefined);
        this.#helperPid?.(undefined);
        // The front end is gone without saying how the container ended: it is killed (run deletes it by force).
        this.#exit?.(137);
        socket.destroy();
        resolve();
      };
      socket.on('end', close);
      socket.on('close', close);
      socket.on('error', close);
    });
    socket.on('data', (chunk: Buffer) => this.#push(chunk));
    if (head.length > 0) this.#push(head);
  }

  /** The call frame's payload, or undefined when the front end hung up, sent too much or nothing in time. */
  frame(): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.hangUp(), frameTimeoutMs);
      this.#frame = (payload) => { clearTimeout(timer); this.#frame = undefined; resolve(payload); };
      if (this.#closed) this.#frame(undefined);
      else this.#push(Buffer.alloc(0));
    });
  }

  readonly signals: SignalSource = (deliver) => {
    this.#signal = deliver;
    return () => { this.#signal = undefined; };
  };

  hangUp(): void {
    this.socket.destroy();
  }

  #push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#framed) {
      if (this.#frame === undefined || this.#buffer.length < 4) return;
      const bytes = this.#buffer.readUInt32BE(0);
      if (bytes > frameBytesMax) return this.hangUp();
      if (this.#buffer.length < 4 + bytes) return;
      this.#framed = true;
      const payload = this.#buffer.subarray(4, 4 + bytes);
      this.#buffer = this.#buffer.subarray(4 + bytes);
      this.#frame(payload);
    }
    for (let end = this.#buffer.indexOf(10); end >= 0; end = this.#buffer.indexOf(10)) {
      const line = this.#buffer.subarray(0, end).toString('latin1');
      this.#buffer = this.#buffer.subarray(end + 1);
      if (!this.#take(line)) return this.hangUp();
    }
    if (this.#buffer.length > controlLineBytesMax) this.hangUp();
  }

  /** One line of the front end's; false for anything the protocol does not have. */
  #take(line: string): boolean {
    const [word, value = '', extra] = line.split(' ');
    if (extra !== undefined || !/^\d{1,10}$/.test(value)) return false;
    const number = Number(value);
    if (word === 'helper' && number > 1) this.#helperPid?.(number);
    else if (word === 'signal' && number >= 1 && number <= 64) this.#signal?.(number);
    else if (word === 'exit' && number <= 255) this.#exit?.(number);
    else return false;
    return true;
  }
}

interface PendingInit {
  readonly callerPid: number;
  readonly attach: (socket: Duplex) => void;
}

const pidNamespace = (pid: number | 'self'): string | undefined => namespaceKey(`/proc/${pid}/ns/pid`);

export class RunService {
  readonly #root: string;
  readonly #logger: Logger;
  readonly #own: OwnNamespaces = ownNamespaces();
  readonly #ownPidNamespace = pidNamespace('self');
  readonly #pending = new Map<string, PendingInit>();
  readonly #running = new Set<Promise<void>>();
  #closing = false;

  constructor(root: string, logger: Logger) {
    this.#root = root;
    this.#logger = logger;
  }

  /** The upgrade listener for `Upgrade: berth-run/1` (daemon.ts routes by protocol). */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    if (request.method !== 'POST') return httpDecline(socket, 400, 'expected POST /v1/run', 'RUN_DECLINED');
    if (this.#closing) return httpDecline(socket, 503, 'berthd is stopping', 'RUN_DECLINED');
    if (this.#running.size >= runsInFlightMax && request.url === '/v1/run') {
      return httpDecline(socket, 503, `berthd serves ${runsInFlightMax} runs already`, 'RUN_DECLINED');
    }
    const caller = this.#identify(socket);
    if (typeof caller === 'string') {
      this.#logger.debug({ reason: caller }, 'berth run not served; berth runs it itself');
      return httpDecline(socket, 503, caller, 'RUN_DECLINED');
    }
    const token = /^\/v1\/run\/([0-9a-f]{32})$/.exec(request.url ?? '')?.[1];
    if (token !== undefined) return this.#attach(token, caller, socket, head);
    if (request.url !== '/v1/run') return httpDecline(socket, 404, `berthd does not serve ${request.url ?? ''}`, 'RUN_DECLINED');
    httpSwitch(socket, RUN_UPGRADE_PROTOCOL);
    const work = this.#serve(new Control(socket, head), caller).finally(() => this.#running.delete(work));
    this.#running.add(work);
  };

  /** Stops taking runs; those in flight go on until their containers exit (a container outlives no berthd stop). */
  async close(drainTimeoutMs = 5_000): Promise<void> {
    this.#closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#running]), new Promise<void>((resolve) => { timer = setTimeout(resolve, drainTimeoutMs); })]);
    clearTimeout(timer);
  }

  /** The caller's pid, or why it is not served. */
  #identify(socket: Duplex): number | string {
    const fd = socketFd(socket);
    if (fd === undefined) return 'the connection has no file descriptor';
    const caller = identifyCaller(fd, this.#own);
    if ('declined' in caller) return caller.declined;
    caller.release();
    if (caller.hostNetns !== undefined) return `caller pid ${caller.pid} is in another network namespace`;
    const pidns = pidNamespace(caller.pid);
    if (pidns === undefined || pidns !== this.#ownPidNamespace) return `caller pid ${caller.pid} is in another pid namespace`;
    return caller.pid;
  }

  #attach(token: string, callerPid: number, socket: Duplex, head: Buffer): void {
    const pending = this.#pending.get(token);
    if (pending === undefined) return httpDecline(socket, 404, 'no run is waiting for this token', 'RUN_DECLINED');
    if (pending.callerPid !== callerPid) {
      this.#logger.warn({ pid: callerPid }, 'a process that did not start the run tried to attach to it: refused');
      return httpDecline(socket, 403, 'this run was started by another process', 'RUN_DECLINED');
    }
    this.#pending.delete(token);
    httpSwitch(socket, RUN_UPGRADE_PROTOCOL);
    if (head.length > 0) socket.unshift(head);
    pending.attach(socket);
  }

  async #serve(control: Control, callerPid: number): Promise<void> {
    const payload = await control.frame();
    if (payload === undefined) return;
    let call: RunCall;
    try {
      call = decodeRunCall(payload);
    } catch (error) {
      this.#logger.warn({ error: (error as Error).message, pid: callerPid }, 'malformed berth run call');
      control.hangUp();
      return;
    }
    const request = await parseRunArgv(call.args, call.cwd);
    // A caller with another state root is not this berthd's: the Node CLI runs it with that root.
    if (request === undefined || !servableRun(request, call.env) || hookPaths(call.env).root !== this.#root) {
      control.socket.end('fallback\n');
      return;
    }
    let stderr = '';
    const io: ForegroundIo = {
      report: (text) => { stderr += text; },
      startInit: (plan) => this.#startInit(plan, control, callerPid),
      signals: control.signals,
    };
    let code: number;
    try {
      code = await runContainer(request, call.env, io);
    } catch (error) {
      code = 1;
      stderr += `berth: ${error instanceof Error ? error.message : String(error)}\n`;
    }
    control.socket.end(`done ${code} ${Buffer.byteLength(stderr)}\n${stderr}`);
  }

  /** Asks the front end to start berth-init, then drives it over the connection it attaches. */
  async #startInit(plan: readonly PlanRecord[], control: Control, callerPid: number): Promise<InitChannel> {
    const token = randomBytes(16).toString('hex');
    let timer: NodeJS.Timeout | undefined;
    try {
      const attached = new Promise<Duplex>((resolve, reject) => {
        this.#pending.set(token, { callerPid, attach: resolve });
        timer = setTimeout(() => reject(new Error(`berth did not start berth-init within ${attachTimeoutMs} ms`)), attachTimeoutMs);
        void control.closed.then(() => reject(new Error('berth hung up before starting berth-init')));
      });
      control.socket.write(`spawn ${token}\n`);
      const [socket, pid] = await Promise.all([attached, control.helperPid]);
      if (pid === undefined || processStat(pid)?.parentPid !== callerPid) {
        socket.destroy();
        throw new Error('berth reported a berth-init pid that is not its child');
      }
      return attachedInit(plan, socket, pid, control.exited);
    } finally {
      clearTimeout(timer);
      this.#pending.delete(token);
    }
  }
}
