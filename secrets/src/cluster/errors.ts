/** Stable codes callers branch on; the message says what failed and with which value (never a secret). */
export const ClusterErrorCode = {
  TokenMalformed: 'TOKEN_MALFORMED',
  TokenRejected: 'TOKEN_REJECTED',
  CaMismatch: 'CA_MISMATCH',
  CertificateInvalid: 'CERTIFICATE_INVALID',
  CertificateExpired: 'CERTIFICATE_EXPIRED',
  CertificateForeign: 'CERTIFICATE_FOREIGN',
  RequestInvalid: 'REQUEST_INVALID',
  NotInitialized: 'NOT_INITIALIZED',
  AlreadyInCluster: 'ALREADY_IN_CLUSTER',
  NotManager: 'NOT_MANAGER',
  LastManager: 'LAST_MANAGER',
  EtcdFailed: 'ETCD_FAILED',
  JoinFailed: 'JOIN_FAILED',
  StateInvalid: 'STATE_INVALID',
  NodeRevoked: 'NODE_REVOKED',
  NodeUnknown: 'NODE_UNKNOWN',
  RateLimited: 'RATE_LIMITED',
} as const;
export type ClusterErrorCodeValue = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode];

/** The error type at the cluster boundary (CA, tokens, membership, the etcd member). */
export class ClusterError extends Error {
  readonly code: ClusterErrorCodeValue;

  constructor(code: ClusterErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}
