import { createPrivateKey, randomBytes, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { assert } from './assert.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { certificateFingerprint, exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, newSerialNumber, parseCertificate, signingAlgorithm } from './pki.js';

/** The cluster CA as files hold it. The private key stays on manager hosts only. */
export interface ClusterCaPem {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface ClusterCaOptions {
  readonly clusterId: string;
  readonly now?: Date;
  readonly validityDays?: number;
}

export const caValidityDaysDefault = 3650;
const clusterIdPattern = /^[a-z0-9]{8,32}$/;

export function newClusterId(): string {
  return randomBytes(10).toString('hex');
}

export function assertClusterId(clusterId: string): void {
  if (!clusterIdPattern.test(clusterId)) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid cluster id ${JSON.stringify(clusterId.slice(0, 40))}: expected 8-32 of [a-z0-9]`);
  }
}

/** Creates a self-signed CA (ECDSA P-256) whose subject names the cluster: `CN=berth-ca, O=berth-<clusterId>`. */
export async function createClusterCa(options: ClusterCaOptions): Promise<ClusterCaPem> {
  assertClusterId(options.clusterId);
  const now = options.now ?? new Date();
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerialNumber(),
    name: `CN=berth-ca, O=berth-${options.clusterId}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (options.validityDays ?? caValidityDaysDefault) * 86_400_000),
    signingAlgorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca = { certificatePem: certificate.toString('pem'), privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
  assert(parseCertificate(ca.certificatePem, 'new CA certificate').ca, 'a new CA certificate is a CA');
  return ca;
}

/** The cluster id a CA certificate was made for (its `O=berth-<id>`), or a typed error. */
export function clusterIdOfCa(certificatePem: string): string {
  const certificate = parseCertificate(certificatePem, 'CA certificate');
  const match = /(?:^|\n)O=berth-([a-z0-9]{8,32})(?:\n|$)/.exec(certificate.subject);
  if (!certificate.ca || match?.[1] === undefined) {
    throw new ClusterError(ClusterErrorCode.CertificateInvalid, `Certificate ${certificateFingerprint(certificatePem).slice(0, 16)} is not a Berth cluster CA`);
  }
  return match[1];
}

/** Checks that the key belongs to the certificate before it is ever used to sign. */
export async function loadClusterCa(ca: ClusterCaPem): Promise<{ certificate: x509.X509Certificate; signingKey: webcrypto.CryptoKey }> {
  clusterIdOfCa(ca.certificatePem);
  const signingKey = await importPrivateKeyPem(ca.privateKeyPem);
  const nodeCertificate = parseCertificate(ca.certificatePem, 'CA certificate');
  if (!nodeCertificate.checkPrivateKey(createPrivateKey(ca.privateKeyPem))) {
    throw new ClusterError(ClusterErrorCode.StateInvalid, 'Cannot load the cluster CA: its private key does not match its certificate');
  }
  return { certificate: new x509.X509Certificate(ca.certificatePem), signingKey };
}
