import { randomBytes, randomFillSync } from 'node:crypto';
import { SecretError, SecretErrorCode } from './errors.js';
import { sodiumLoaded } from './sodium.js';

/**
 * The key hierarchy (see README.md beside this file): every secret version is sealed with its own data key
 * (XChaCha20-Poly1305, the secret's name and version as associated data); the data key is sealed with the cluster
 * key (KEK), its name, version and KEK id as associated data. A sealed blob is base64(nonce ‖ ciphertext ‖ tag).
 */
export const keyBytes = 32;

export interface ClusterKey {
  readonly kekId: string;
  readonly key: Uint8Array;
}

/**
 * Random bytes from the kernel's CSPRNG in one call. (libsodium.js' randombytes_buf asks Node for 4 bytes per
 * call from WebAssembly: ~30 calls and ~0.8 ms per sealed version, measured.)
 */
function random(length: number): Uint8Array {
  return randomFillSync(new Uint8Array(length));
}

export function newKey(): Uint8Array {
  return random(keyBytes);
}

export function newClusterKey(): ClusterKey {
  return { kekId: `k${randomBytes(6).toString('hex')}`, key: newKey() };
}

export function zero(bytes: Uint8Array | undefined): void {
  if (bytes !== undefined && bytes.length > 0) sodiumLoaded().memzero(bytes);
}

/** Associated data binds a blob to its purpose and place, so a blob moved elsewhere never opens. */
function associated(purpose: string, ...parts: readonly (string | number)[]): Uint8Array {
  return Buffer.from(['berth', purpose, 'v1', ...parts.map(String)].join('\0'), 'utf8');
}

export function seal(key: Uint8Array, purpose: string, parts: readonly (string | number)[], plaintext: Uint8Array): string {
  const sodium = sodiumLoaded();
  const nonce = random(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associated(purpose, ...parts), null, nonce, key);
  return Buffer.concat([nonce, ciphertext]).toString('base64');
}

/** The plaintext, or undefined when the key is wrong or the blob was altered or moved. */
export function open(key: Uint8Array, purpose: string, parts: readonly (string | number)[], sealed: string): Uint8Array | undefined {
  const sodium = sodiumLoaded();
  const bytes = Buffer.from(sealed, 'base64');
  const nonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (bytes.length < nonceBytes + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES) return undefined;
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, bytes.subarray(nonceBytes), associated(purpose, ...parts), bytes.subarray(0, nonceBytes), key);
  } catch {
    return undefined;
  }
}

export interface SealedVersion {
  readonly kekId: string;
  readonly wrappedKey: string;
  readonly value: string;
}

export function sealSecretValue(options: { kek: ClusterKey; name: string; version: number; plaintext: Uint8Array }): SealedVersion {
  const dataKey = newKey();
  try {
    return {
      kekId: options.kek.kekId,
      value: seal(dataKey, 'value', [options.name, options.version], options.plaintext),
      wrappedKey: seal(options.kek.key, 'data-key', [options.name, options.version, options.kek.kekId], dataKey),
    };
  } finally {
    zero(dataKey);
  }
}

function integrityError(name: string, version: number, what: string): SecretError {
  return new SecretError(SecretErrorCode.KeyUnavailable, `Cannot open version ${version} of secret ${name}: its ${what} does not verify (wrong cluster key, or the stored data was altered)`);
}

/** Opens a version; the caller zeroes the returned buffer when done. */
export function openSecretValue(options: { kek: ClusterKey; name: string; version: number; sealed: SealedVersion }): Uint8Array {
  const { kek, name, version, sealed } = options;
  if (kek.kekId !== sealed.kekId) throw integrityError(name, version, 'cluster key id');
  const dataKey = open(kek.key, 'data-key', [name, version, kek.kekId], sealed.wrappedKey);
  if (dataKey === undefined) throw integrityError(name, version, 'wrapped data key');
  try {
    const plaintext = open(dataKey, 'value', [name, version], sealed.value);
    if (plaintext === undefined) throw integrityError(name, version, 'value');
    return plaintext;
  } finally {
    zero(dataKey);
  }
}

/** Re-seals a version's data key under another KEK; the value itself is untouched. */
export function rewrapDataKey(options: { from: ClusterKey; to: ClusterKey; name: string; version: number; wrappedKey: string }): string {
  const { from, to, name, version } = options;
  const dataKey = open(from.key, 'data-key', [name, version, from.kekId], options.wrappedKey);
  if (dataKey === undefined) throw integrityError(name, version, 'wrapped data key');
  try {
    return seal(to.key, 'data-key', [name, version, to.kekId], dataKey);
  } finally {
    zero(dataKey);
  }
}

/** Unlock keys as printed to the operator: a random 256-bit key, hex, with a prefix that says what it is. */
const unlockKeyPattern = /^BRTULK-1-([0-9a-f]{64})$/;

export function formatUnlockKey(key: Uint8Array): string {
  return `BRTULK-1-${Buffer.from(key).toString('hex')}`;
}

export function parseUnlockKey(text: string): Uint8Array {
  const hex = unlockKeyPattern.exec(text.trim())?.[1];
  if (hex === undefined) throw new SecretError(SecretErrorCode.UnlockKeyRejected, 'Invalid unlock key: expected BRTULK-1- followed by 64 hex digits');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
