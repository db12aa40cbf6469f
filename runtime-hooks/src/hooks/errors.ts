/** Why a hook stage failed; `code` is stable for callers (tests, `berth run`), the message is the one line users see. */
export const HookCode = {
  InvalidInput: 'INVALID_INPUT',
  InvalidAnnotation: 'INVALID_ANNOTATION',
  NetworkNotFound: 'NETWORK_NOT_FOUND',
  NetworkFailed: 'NETWORK_FAILED',
  TaskRefused: 'TASK_REFUSED',
  SecretsUnavailable: 'SECRETS_UNAVAILABLE',
  MountFailed: 'MOUNT_FAILED',
  Timeout: 'TIMEOUT',
  Busy: 'BUSY',
} as const;
export type HookCodeValue = (typeof HookCode)[keyof typeof HookCode];

export class HookError extends Error {
  readonly code: HookCodeValue;

  constructor(code: HookCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HookError';
    this.code = code;
  }
}

/** The first line of an error's message, for the one-line reason on stderr. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').trim() || 'unknown error';
}
