/** Stable codes of the store boundary. */
export const StoreErrorCode = {
  /** A read could not be served (no quorum reachable within the attempts). Nothing changed. */
  Unavailable: 'STORE_UNAVAILABLE',
  /** A write failed in transit: it may or may not have been applied. Callers re-read before retrying. */
  UnknownOutcome: 'STORE_UNKNOWN_OUTCOME',
  /** A key or key segment outside the keyspace's grammar. */
  InvalidKey: 'STORE_INVALID_KEY',
  /** A stored value that does not decode as its collection's type, or a value that will not encode. */
  InvalidValue: 'STORE_INVALID_VALUE',
  TooLarge: 'STORE_TOO_LARGE',
  /** The requested revision was compacted away. */
  Compacted: 'STORE_COMPACTED',
  LeaseLost: 'STORE_LEASE_LOST',
  /** etcd refused the caller's identity this operation (its role does not grant it, or its user was removed). Nothing changed. */
  PermissionDenied: 'STORE_PERMISSION_DENIED',
  Closed: 'STORE_CLOSED',
} as const;
export type StoreErrorCodeValue = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  readonly code: StoreErrorCodeValue;

  constructor(code: StoreErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
