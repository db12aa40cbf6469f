import { createCipheriv, createDecipheriv, createHash, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ClusterError, ClusterErrorCode } from './errors.js';
import type { NodeRole } from './node-cert.js';

/**
 * A join token, after Docker swarm's `SWMTKN-1-<ca digest>-<secret>`: `BRTTKN-1-<sha256 of the CA, 64 hex>-<secret,
 * 32 hex>`. The digest lets a joining host pin the CA before trusting the manager; the secret (128 random bits)
 * proves it may join. Managers keep only a hash of the secret, per role; rotating replaces the hash.
 */
export interface JoinToken {
  readonly caFingerprint: string;
  readonly secret: string;
}

/**
 * What the store keeps per role: never the secret in clear. `secretHash` is what joins are checked against;
 * `sealedSecret` lets a manager print the current token again (`join-token worker`), sealed with a key derived
 * from the CA private key, which only managers hold — workers can read the store but cannot open it.
 */
export interface JoinTokenRecord {
  readonly role: NodeRole;
  readonly secretHash: string;
  readonly sealedSecret: string;
  readonly createdAt: string;
  /** After this instant the token is refused; undefined: until rotated. */
  readonly expiresAt: string | undefined;
}

export const joinTokenPrefix = 'BRTTKN-1-';
export const joinTokenLengthMax = 256;
const tokenPattern = /^BRTTKN-1-([0-9a-f]{64})-([0-9a-f]{32})$/;
const secretHashPattern = /^sha256:[0-9a-f]{64}$/;

export function formatJoinToken(token: JoinToken): string {
  const text = `${joinTokenPrefix}${token.caFingerprint}-${token.secret}`;
  if (!tokenPattern.test(text)) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Cannot format join token: fingerprint or secret has the wrong shape');
  return text;
}

/** Parses untrusted text; surrounding whitespace (a pasted newline) is forgiven, nothing else is. */
export function parseJoinToken(text: unknown): JoinToken {
  if (typeof text !== 'string' || text.length > joinTokenLengthMax) {
    throw new ClusterError(ClusterErrorCode.TokenMalformed, `Invalid join token: expected a string of at most ${joinTokenLengthMax} characters starting ${joinTokenPrefix}`);
  }
  const match = tokenPattern.exec(text.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new ClusterError(ClusterErrorCode.TokenMalformed, `Invalid join token: expected ${joinTokenPrefix}<64 hex>-<32 hex>`);
  }
  return { caFingerprint: match[1], secret: match[2] };
}

export function newJoinSecret(): string {
  return randomBytes(16).toString('hex');
}

export function hashJoinSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(`berth-join-token\0${secret}`).digest('hex')}`;
}

export function newJoinTokenRecord(role: NodeRole, caPrivateKeyPem: string, options: { now?: Date; ttlSeconds?: number } = {}): { record: JoinTokenRecord; secret: string } {
  const now = options.now ?? new Date();
  const secret = newJoinSecret();
  const sealedSecret = sealJoinSecret(secret, role, caPrivateKeyPem);
  const expiresAt = options.ttlSeconds === undefined ? undefined : new Date(now.getTime() + options.ttlSeconds * 1000).toISOString();
  return { record: { role, secretHash: hashJoinSecret(secret), sealedSecret, createdAt: now.toISOString(), expiresAt }, secret };
}

function sealingKey(caPrivateKeyPem: string): Buffer {
  const der = createPrivateKey(caPrivateKeyPem).export({ type: 'pkcs8', format: 'der' });
  return Buffer.from(hkdfSync('sha256', der, 'berth', 'berth join-token sealing v1', 32));
}

/** ChaCha20-Poly1305 (OpenSSL) with the role as associated data: `v1.<nonce>.<ciphertext+tag>` in base64url. */
export function sealJoinSecret(secret: string, role: NodeRole, caPrivateKeyPem: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('chacha20-poly1305', sealingKey(caPrivateKeyPem), nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(role), { plaintextLength: Buffer.byteLength(secret) });
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${nonce.toString('base64url')}.${sealed.toString('base64url')}`;
}

export function openJoinSecret(record: JoinTokenRecord, caPrivateKeyPem: string): string {
  const [version, nonceText, sealedText] = record.sealedSecret.split('.');
  try {
    if (version !== 'v1' || nonceText === undefined || sealedText === undefined) throw new Error('unknown format');
    const sealed = Buffer.from(sealedText, 'base64url');
    const decipher = createDecipheriv('chacha20-poly1305', sealingKey(caPrivateKeyPem), Buffer.from(nonceText, 'base64url'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(record.role), { plaintextLength: sealed.length - 16 });
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const secret = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
    if (!joinSecretMatches(secret, record.secretHash)) throw new Error('does not match its hash');
    return secret;
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot open the stored ${record.role} join token: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Constant-time comparison of a presented secret against a stored hash. */
export function joinSecretMatches(secret: string, secretHash: string): boolean {
  if (!secretHashPattern.test(secretHash)) return false;
  const presented = Buffer.from(hashJoinSecret(secret), 'utf8');
  const stored = Buffer.from(secretHash, 'utf8');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/**
 * Decides what a presented token grants against this cluster's CA and stored records: the role, or a typed error
 * (another cluster's CA → CA_MISMATCH; unknown or rotated-away secret → TOKEN_REJECTED).
 */
export function authorizeJoinToken(options: {
  readonly token: JoinToken;
  readonly caFingerprint: string;
  readonly records: readonly JoinTokenRecord[];
  readonly now?: Date;
}): NodeRole {
  const fingerprintMatches = timingSafeEqual(Buffer.from(options.token.caFingerprint), Buffer.from(options.caFingerprint.padEnd(64, '0').slice(0, 64)));
  if (!fingerprintMatches) {
    throw new ClusterError(ClusterErrorCode.CaMismatch, `Join token is for another cluster: its CA digest ${options.token.caFingerprint.slice(0, 12)}… is not this cluster's ${options.caFingerprint.slice(0, 12)}…`);
  }
  const match = options.records.find((record) => joinSecretMatches(options.token.secret, record.secretHash));
  if (match === undefined) throw new ClusterError(ClusterErrorCode.TokenRejected, 'Join token rejected: unknown or rotated secret');
  if (match.expiresAt !== undefined && Date.parse(match.expiresAt) <= (options.now ?? new Date()).getTime()) {
    throw new ClusterError(ClusterErrorCode.TokenRejected, `Join token rejected: the ${match.role} token expired at ${match.expiresAt}`);
  }
  return match.role;
}
