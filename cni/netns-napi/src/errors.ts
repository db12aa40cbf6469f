import { getSystemErrorName } from 'node:util';

/**
 * The error type of `@berth/netns-napi`. `code` is an errno name (`ENOENT`, `EINVAL`, `EEXIST`...), `syscall` the
 * call that failed (or `validate` for rejected input) and `path` the file it was about.
 */
export class NetnsError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly path: string;

  constructor(code: string, syscall: string, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetnsError';
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

interface ErrnoLike { errno?: unknown; code?: unknown; syscall?: unknown; message?: unknown }

/**
 * Wraps an error from the addon (positive `errno`) or from node:fs (negative `errno`, string `code`) as a NetnsError
 * whose message names the action, the syscall and the path. Anything else is rethrown untouched.
 */
export function toNetnsError(error: unknown, action: string, path: string): NetnsError {
  if (error instanceof NetnsError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrnoLike;
  if (typeof e.errno !== 'number') throw error;
  const code = typeof e.code === 'string' ? e.code : getSystemErrorName(-Math.abs(e.errno));
  const syscall = typeof e.syscall === 'string' ? e.syscall : 'unknown';
  return new NetnsError(code, syscall, path, `Cannot ${action}: ${syscall}(${path}) failed with ${code}`, { cause: error });
}
