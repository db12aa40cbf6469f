/** Stable codes of the secrets boundary; messages name the secret, service or version, never a value or a key. */
export const SecretErrorCode = {
  Invalid: 'SECRET_INVALID',
  TooLarge: 'SECRET_TOO_LARGE',
  NotFound: 'SECRET_NOT_FOUND',
  Exists: 'SECRET_EXISTS',
  InUse: 'SECRET_IN_USE',
  VersionNotFound: 'SECRET_VERSION_NOT_FOUND',
  GrantNotFound: 'GRANT_NOT_FOUND',
  Conflict: 'SECRET_CONFLICT',
  Locked: 'CLUSTER_LOCKED',
  NotLocked: 'CLUSTER_NOT_LOCKED',
  AutolockOff: 'AUTOLOCK_OFF',
  UnlockKeyRejected: 'UNLOCK_KEY_REJECTED',
  KeyUnavailable: 'CLUSTER_KEY_UNAVAILABLE',
  TaskInvalid: 'TASK_INVALID',
  TaskUnknown: 'TASK_UNKNOWN',
  NotInCluster: 'NOT_IN_CLUSTER',
  DeliveryFailed: 'SECRETS_UNAVAILABLE',
  Forbidden: 'FORBIDDEN',
} as const;
export type SecretErrorCodeValue = (typeof SecretErrorCode)[keyof typeof SecretErrorCode];

const statusOf: Record<SecretErrorCodeValue, number> = {
  SECRET_INVALID: 400, SECRET_TOO_LARGE: 413, SECRET_NOT_FOUND: 404, SECRET_EXISTS: 409, SECRET_IN_USE: 409,
  SECRET_VERSION_NOT_FOUND: 404, GRANT_NOT_FOUND: 404, SECRET_CONFLICT: 409, CLUSTER_LOCKED: 423, CLUSTER_NOT_LOCKED: 409,
  AUTOLOCK_OFF: 409, UNLOCK_KEY_REJECTED: 403, CLUSTER_KEY_UNAVAILABLE: 503, TASK_INVALID: 400, TASK_UNKNOWN: 404,
  NOT_IN_CLUSTER: 409, SECRETS_UNAVAILABLE: 503, FORBIDDEN: 403,
};

export class SecretError extends Error {
  readonly code: SecretErrorCodeValue;

  constructor(code: SecretErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretError';
    this.code = code;
  }

  get httpStatus(): number {
    return statusOf[this.code];
  }
}

const knownCodes = new Set<string>(Object.values(SecretErrorCode));

export function isSecretErrorCode(value: unknown): value is SecretErrorCodeValue {
  return typeof value === 'string' && knownCodes.has(value);
}
