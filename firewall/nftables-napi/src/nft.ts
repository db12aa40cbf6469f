import { isAbsolute } from 'node:path';
import { constants } from 'node:os';
import { classifyNftMessage, firstNftErrorLine, NftError, NftErrorCode } from './errors.js';
import { encodeInput, type NftInput } from './input.js';
import { native, type NativeContext, type NativeRunResult } from './native.js';
import { parseOutput } from './output.js';
import type { NftOutput } from './schema.js';

export interface NftOptions {
  /**
   * Path of a network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`). The context then reads and writes
   * that namespace's ruleset; the rest of the process stays where it is. Default: the namespace the calling
   * thread is in when the context is created.
   */
  readonly netns?: string;
}

/**
 * A libnftables context. `run` is synchronous: a libnftables call takes microseconds to a few milliseconds
 * (10 000 set elements in one transaction included), libnftables is serialized process-wide anyway, and
 * staying on the calling thread keeps the namespace switch confined to a call during which no JavaScript runs.
 */
export class Nft {
  readonly netns: string | undefined;
  #context: NativeContext | undefined;

  constructor(options: NftOptions = {}) {
    this.netns = options.netns;
    const where = options.netns === undefined ? 'the current network namespace' : `network namespace ${options.netns}`;
    if (options.netns !== undefined && !isAbsolute(options.netns)) {
      throw new NftError(NftErrorCode.Netns,
        `Cannot open an nft context in ${where}: expected an absolute path such as /run/netns/NAME`);
    }
    try {
      this.#context = new native.Context(options.netns ?? null);
    } catch (error) {
      throw nativeError(`open an nft context in ${where}`, error);
    }
  }

  get closed(): boolean {
    return this.#context === undefined;
  }

  /**
   * Runs the input as one kernel transaction: every change in it is applied, or none is. Returns what list
   * commands printed (`{ nftables: [] }` when none). Throws `NftError`; `nftMessage` holds libnftables' text.
   */
  run(input: NftInput): NftOutput {
    const { text, action } = encodeInput(input);
    const context = this.#context;
    if (context === undefined) {
      throw new NftError(NftErrorCode.Closed, `Cannot run ${action}: the nft context is closed`);
    }
    let result: NativeRunResult;
    try {
      result = context.run(text);
    } catch (error) {
      throw nativeError(`run ${action} in network namespace ${this.netns ?? '(current)'}`, error);
    }
    if (result.rc !== 0) {
      throw new NftError(classifyNftMessage(result.error), `Cannot run ${action}: ${firstNftErrorLine(result.error)}`,
        { nftMessage: result.error });
    }
    try {
      return parseOutput(result.output);
    } catch (error) {
      throw new NftError(NftErrorCode.InvalidOutput,
        `Cannot read the output of ${action}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** Frees the context (and its netlink socket). Idempotent; `run` afterwards throws `NFT_CLOSED`. */
  close(): void {
    this.#context?.close();
    this.#context = undefined;
  }
}

/** Native errors carry `errno` and `syscall` when a namespace could not be opened or entered. */
function nativeError(action: string, error: unknown): NftError {
  const errno = readNumber(error, 'errno');
  const syscall = readString(error, 'syscall');
  const detail = error instanceof Error ? error.message : String(error);
  if (errno === undefined) return new NftError(NftErrorCode.Failed, `Cannot ${action}: ${detail}`, { cause: error });
  let reason = detail;
  if (errno === constants.errno.ENOENT) reason = 'no such namespace file';
  else if (errno === constants.errno.EINVAL && syscall === 'setns') reason = 'not a network namespace';
  else if (errno === constants.errno.EPERM) reason = 'permission denied (needs CAP_SYS_ADMIN)';
  return new NftError(NftErrorCode.Netns, `Cannot ${action}: ${reason} (${syscall ?? 'native'}: errno ${errno})`,
    { cause: error });
}

function readNumber(value: unknown, key: string): number | undefined {
  const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'number' ? field : undefined;
}

function readString(value: unknown, key: string): string | undefined {
  const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'string' ? field : undefined;
}
