/** Stable codes callers branch on; never branch on message text. */
export const FirewallCode = {
  /** A policy, namespace or endpoint document failed validation; nothing from it was stored. */
  InvalidDocument: 'INVALID_DOCUMENT',
  /** A referenced policy, namespace or endpoint does not exist. */
  NotFound: 'NOT_FOUND',
  /** A query (explain) or command argument is malformed. */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The state directory could not be read, locked or written. */
  State: 'STATE',
  /** libnftables rejected a transaction or could not be reached. */
  Enforcement: 'ENFORCEMENT',
  /** The agent cannot serve the change right now (e.g. berthd has not loaded the cluster's policies yet): retry. */
  Unavailable: 'UNAVAILABLE',
} as const;
export type FirewallCodeValue = (typeof FirewallCode)[keyof typeof FirewallCode];

/** The error type at the `@berth/firewall` boundary. */
export class FirewallError extends Error {
  readonly code: FirewallCodeValue;
  /** For InvalidDocument: the field path that failed, e.g. `spec.ingress[0].ports[1].port`. */
  readonly field: string | undefined;

  constructor(code: FirewallCodeValue, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FirewallError';
    this.code = code;
    this.field = options.field;
  }
}

/** Invariant check for programmer errors (never for input validation). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`firewall invariant violated: ${message}`);
}
