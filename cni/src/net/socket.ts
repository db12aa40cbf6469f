// Only the socket layer of the `netlink` package (raw socket, sequence numbers, multipart replies): its root module
// also loads the rtnetlink, genl, nl80211 and wireguard codecs (~25 ms per process start), and Berth has its own.
import { createNetlink } from 'netlink/dist/netlink.js';
import { withNetns } from '@berth/netns-napi';
import { NetlinkError } from './errors.js';
import { NLM_F, NLMSG_ERROR } from './constants.js';
import { readS32 } from './codec.js';

/** How long one request may wait for the kernel's answer. The kernel answers rtnetlink synchronously; this is a backstop. */
export const requestTimeoutMs = 10_000;

const ETIMEDOUT = 110;
const EBADF = 9;
const EIO = 5;
/** NETLINK_ROUTE, from linux/netlink.h. */
const NETLINK_ROUTE = 0;

interface ReplyMessage { type: number; data: Buffer }

/**
 * One rtnetlink socket, bound to the netns it was opened in (the netns of the thread that created it), with its
 * requests run one at a time so dumps never interleave. Low level: the Rtnl facets build the messages.
 */
export class RtnlSocket {
  readonly netnsPath: string | undefined;
  readonly #socket: ReturnType<typeof createNetlink>;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastError: Error | undefined;

  /** Opens the socket in the netns at `netnsPath` (entered only for the synchronous socket() call), or here. */
  constructor(netnsPath?: string) {
    this.netnsPath = netnsPath;
    const open = () => createNetlink(NETLINK_ROUTE);
    this.#socket = netnsPath === undefined ? open() : withNetns(netnsPath, open);
    // Without a listener an asynchronous socket error would crash the process; keep it for the failing request.
    this.#socket.on('error', (error: Error) => { this.#lastError = error; });
  }

  /** "netns /run/netns/x" or "the current netns", for error messages. */
  get netnsLabel(): string {
    return this.netnsPath === undefined ? 'the current netns' : `netns ${this.netnsPath}`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }

  /**
   * Sends one request (REQUEST|ACK added) and resolves with the payloads of the reply messages: none for a plain
   * ACK, one for a GET, many for a DUMP. A kernel error rejects with a NetlinkError naming `operation`.
   */
  request(type: number, flags: number, payload: readonly Uint8Array[], operation: string): Promise<Buffer[]> {
    const run = () => this.#send(type, flags, payload, operation);
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  dump(type: number, payload: readonly Uint8Array[], operation: string): Promise<Buffer[]> {
    return this.request(type, NLM_F.DUMP, payload, operation);
  }

  async #send(type: number, flags: number, payload: readonly Uint8Array[], operation: string): Promise<Buffer[]> {
    if (this.#closed) throw new NetlinkError(EBADF, `${operation}: the rtnetlink socket is closed`);
    let messages: ReplyMessage[];
    const startedMs = Date.now();
    try {
      [messages] = await this.#socket.request(type, [...payload], { flags, checkError: false, timeout: requestTimeoutMs });
    } catch (error) {
      throw this.#transportError(error, operation, Date.now() - startedMs);
    }
    const out: Buffer[] = [];
    for (const message of messages) {
      if (message.type !== NLMSG_ERROR) {
        out.push(message.data);
        continue;
      }
      const errno = readS32(message.data);
      if (errno === undefined) throw new NetlinkError(EIO, `${operation}: truncated netlink error message`);
      if (errno !== 0) throw new NetlinkError(-errno, operation);
    }
    return out;
  }

  // The package reports send failures with an errno and its own timeout as a plain Error: tell them apart by time.
  #transportError(error: unknown, operation: string, elapsedMs: number): NetlinkError {
    const e = error as { errno?: unknown };
    if (typeof e.errno === 'number') return new NetlinkError(Math.abs(e.errno), operation, { cause: error });
    if (elapsedMs >= requestTimeoutMs) {
      return new NetlinkError(ETIMEDOUT, `${operation}: no answer within ${requestTimeoutMs} ms`, { cause: error });
    }
    return new NetlinkError(EIO, operation, { cause: this.#lastError ?? error });
  }
}
