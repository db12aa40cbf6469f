import { getSystemErrorMap, getSystemErrorName } from 'node:util';

/**
 * A failed rtnetlink operation. `code` is the kernel's errno name (`EEXIST`, `ENODEV`, `ESRCH`, ...) or `ETIMEDOUT`
 * when the kernel did not answer; `operation` says what was attempted, with its values and netns.
 */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly operation: string;

  constructor(errno: number, operation: string, options?: { cause?: unknown; code?: string }) {
    const code = options?.code ?? safeErrorName(errno);
    const description = getSystemErrorMap().get(-Math.abs(errno))?.[1];
    super(`Cannot ${operation}: ${code}${description === undefined ? '' : ` (${description})`}`, options);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = errno;
    this.operation = operation;
  }
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(-Math.abs(errno));
  } catch {
    return `E${errno}`;
  }
}

const NOT_FOUND = new Set(['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL']);

/** The kernel's various ways of saying "no such link / address / route / entry". */
export function isNotFound(error: unknown): boolean {
  return error instanceof NetlinkError && NOT_FOUND.has(error.code);
}

export function isExists(error: unknown): boolean {
  return error instanceof NetlinkError && error.code === 'EEXIST';
}
