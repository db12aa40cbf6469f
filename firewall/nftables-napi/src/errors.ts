/** Stable codes of `NftError`; callers branch on these, never on message text. */
export const NftErrorCode = {
  /** libnftables rejected the input or the kernel refused the transaction, for a reason not listed below. */
  Failed: 'NFT_FAILED',
  /** An object the command names does not exist (ENOENT). */
  NotFound: 'NFT_NOT_FOUND',
  /** `create` of an object that exists, or an overlapping element (EEXIST). */
  Exists: 'NFT_EXISTS',
  /** The object is in use, e.g. deleting a chain something jumps to (EBUSY). */
  Busy: 'NFT_BUSY',
  /** Missing CAP_NET_ADMIN in the context's network namespace (EPERM). */
  PermissionDenied: 'NFT_PERMISSION_DENIED',
  /** A string that starts with `{` is not valid JSON, or an object cannot be serialized to JSON. */
  InvalidJson: 'NFT_INVALID_JSON',
  /** The input is neither a command, a script, an array of commands nor a string, or contains a NUL byte. */
  InvalidInput: 'NFT_INVALID_INPUT',
  /** libnftables printed output that is not its JSON format (a bug in this binding or in libnftables). */
  InvalidOutput: 'NFT_INVALID_OUTPUT',
  /** The network namespace cannot be opened or entered. */
  Netns: 'NFT_NETNS',
  /** The context was closed. */
  Closed: 'NFT_CLOSED',
} as const;
export type NftErrorCodeValue = (typeof NftErrorCode)[keyof typeof NftErrorCode];

/** The error type at the `@berth/nftables-napi` boundary. */
export class NftError extends Error {
  readonly code: NftErrorCodeValue;
  /** libnftables' own error text, verbatim (with its location markers); empty when the error is not from it. */
  readonly nftMessage: string;

  constructor(code: NftErrorCodeValue, message: string, options: { nftMessage?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NftError';
    this.code = code;
    this.nftMessage = options.nftMessage ?? '';
  }
}

// Kernel errno texts as libnftables prints them ("Error: Could not process rule: No such file or directory").
const errnoTextCodes: readonly (readonly [string, NftErrorCodeValue])[] = [
  ['No such file or directory', NftErrorCode.NotFound],
  ['File exists', NftErrorCode.Exists],
  ['Device or resource busy', NftErrorCode.Busy],
  ['Operation not permitted', NftErrorCode.PermissionDenied],
];

/** The first `Error:` line of libnftables' error text, without its `internal:0:0-0:` location prefix. */
export function firstNftErrorLine(nftMessage: string): string {
  const lines = nftMessage.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  const errorLine = lines.find((line) => line.includes('Error:')) ?? lines[0] ?? 'libnftables reported no error text';
  return errorLine.replace(/^.*?Error:\s*/, '');
}

/** The code for libnftables' error text: the first error line decides. */
export function classifyNftMessage(nftMessage: string): NftErrorCodeValue {
  const line = firstNftErrorLine(nftMessage);
  for (const [text, code] of errnoTextCodes) {
    if (line.includes(text)) return code;
  }
  return NftErrorCode.Failed;
}
