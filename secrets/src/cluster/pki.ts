import { createHash, randomBytes, webcrypto, X509Certificate as NodeCertificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ClusterError, ClusterErrorCode } from './errors.js';

/** Every key Berth makes: ECDSA on P-256, signatures with SHA-256 (what etcd, Go and OpenSSL all accept). */
export const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** PEM inputs longer than this are refused before parsing: no certificate or key Berth makes comes close. */
export const pemLengthMax = 16 * 1024;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * 128 random bits as a certificate serial whose DER INTEGER is minimal and positive: the first byte is 0x40-0x7f
 * (a leading 0x00 byte would be a non-minimal encoding, which Go, and so etcd, refuses; a high bit would be negative).
 */
export function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

export type KeyPair = { readonly privateKey: webcrypto.CryptoKey; readonly publicKey: webcrypto.CryptoKey };

export async function generateKeyPair(): Promise<KeyPair> {
  const pair = await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

export async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function importPrivateKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  try {
    if (pem.length > pemLengthMax) throw new RangeError(`longer than ${pemLengthMax} characters`);
    const [der] = x509.PemConverter.decode(pem);
    if (der === undefined) throw new TypeError('no PEM block');
    return await webcrypto.subtle.importKey('pkcs8', der, keyAlgorithm, true, ['sign']);
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot load private key: ${describe(error)}`);
  }
}

/** Parses one PEM certificate with Node's OpenSSL-backed parser; hostile input becomes a typed error. */
export function parseCertificate(pem: string, what: string): NodeCertificate {
  if (typeof pem !== 'string' || pem.length === 0 || pem.length > pemLengthMax) {
    throw new ClusterError(ClusterErrorCode.CertificateInvalid, `Cannot parse ${what}: not a PEM certificate of at most ${pemLengthMax} characters`);
  }
  try {
    return new NodeCertificate(pem);
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.CertificateInvalid, `Cannot parse ${what}: ${describe(error)}`);
  }
}

/** SHA-256 over the certificate's DER, lowercase hex: what join tokens pin. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(parseCertificate(pem, 'certificate').raw).digest('hex');
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
