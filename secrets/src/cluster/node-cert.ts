import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { assert } from './assert.js';
import { clusterIdOfCa, loadClusterCa, type ClusterCaPem } from './ca.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { certificateFingerprint, describe, exportPrivateKeyPem, generateKeyPair, parseCertificate, pemLengthMax, signingAlgorithm } from './pki.js';

export const nodeRoles = ['manager', 'worker'] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** What a node certificate says about its holder, after the chain and the dates were checked. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
  readonly addresses: readonly string[];
  readonly notAfter: Date;
  readonly fingerprint: string;
}

export const nodeCertificateValidityDaysDefault = 365;
export const nodeAddressesMax = 8;
const nodeIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function newNodeId(): string {
  return `n${randomBytes(6).toString('hex')}`;
}

export function isNodeRole(value: unknown): value is NodeRole {
  return value === 'manager' || value === 'worker';
}

export function assertNodeId(nodeId: unknown): asserts nodeId is string {
  if (typeof nodeId !== 'string' || !nodeIdPattern.test(nodeId)) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid node id ${JSON.stringify(String(nodeId).slice(0, 70))}: expected [a-z0-9][a-z0-9-]{0,62}`);
  }
}

/** Validates the addresses a certificate will name: IPs only, a few, no duplicates. */
export function assertNodeAddresses(addresses: unknown): asserts addresses is readonly string[] {
  if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > nodeAddressesMax) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid node addresses: expected 1 to ${nodeAddressesMax} IP addresses`);
  }
  for (const address of addresses) {
    if (typeof address !== 'string' || isIP(address) === 0) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid node address ${JSON.stringify(String(address).slice(0, 64))}: not an IP address`);
    }
  }
  if (new Set(addresses).size !== addresses.length) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid node addresses: duplicates');
}

/** A new node key and a CSR proving possession of it; the key never leaves the node. */
export async function createNodeKeyAndCsr(nodeId: string): Promise<{ privateKeyPem: string; csrPem: string }> {
  assertNodeId(nodeId);
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${nodeId}`, keys, signingAlgorithm });
  return { privateKeyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}

export interface IssueNodeCertificateOptions {
  readonly ca: ClusterCaPem;
  readonly csrPem: string;
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly addresses: readonly string[];
  readonly now?: Date;
  readonly validityDays?: number;
}

/**
 * Signs a node certificate for the key in a CSR. Subject and SANs come from the (validated) options, never from
 * the CSR, so a joiner cannot ask for another role or name. Usable as TLS server and client (etcd peers are both).
 */
export async function issueNodeCertificate(options: IssueNodeCertificateOptions): Promise<string> {
  assertNodeId(options.nodeId);
  assertNodeAddresses(options.addresses);
  if (!isNodeRole(options.role)) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid role ${JSON.stringify(String(options.role))}`);
  const csr = await parseCsr(options.csrPem);
  const { certificate: caCertificate, signingKey } = await loadClusterCa(options.ca);
  const clusterId = clusterIdOfCa(options.ca.certificatePem);
  const now = options.now ?? new Date();
  const sans = [...new Set([...options.addresses, '127.0.0.1', '::1'])];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=${options.nodeId}, OU=${options.role}, O=berth-${clusterId}`,
    issuer: caCertificate.subjectName,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (options.validityDays ?? nodeCertificateValidityDaysDefault) * 86_400_000),
    signingAlgorithm,
    publicKey: csr.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...sans.map((value) => ({ type: 'ip' as const, value })),
        { type: 'dns' as const, value: options.nodeId },
        { type: 'dns' as const, value: 'localhost' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  const pem = certificate.toString('pem');
  const identity = verifyNodeCertificate({ certificatePem: pem, caCertificatePem: options.ca.certificatePem, now });
  assert(identity.nodeId === options.nodeId && identity.role === options.role, 'an issued certificate verifies as what was asked');
  return pem;
}

async function parseCsr(csrPem: unknown): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== 'string' || csrPem.length > pemLengthMax || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid certificate request: expected one PEM CERTIFICATE REQUEST');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid certificate request: ${describe(error)}`);
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid certificate request: key must be ECDSA P-256, not ${algorithm.name ?? '?'} ${algorithm.namedCurve ?? ''}`.trim());
  }
  const signed = await csr.verify().catch(() => false);
  if (!signed) throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Invalid certificate request: its signature does not verify');
  return csr;
}

export interface VerifyNodeCertificateOptions {
  readonly certificatePem: string;
  readonly caCertificatePem: string;
  readonly now?: Date;
}

/** Checks issuer, signature, dates and the Berth subject; returns who the holder is. */
export function verifyNodeCertificate(options: VerifyNodeCertificateOptions): NodeIdentity {
  const certificate = parseCertificate(options.certificatePem, 'node certificate');
  const ca = parseCertificate(options.caCertificatePem, 'CA certificate');
  const clusterId = clusterIdOfCa(options.caCertificatePem);
  const fingerprint = certificateFingerprint(options.certificatePem);
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
    throw new ClusterError(ClusterErrorCode.CertificateForeign, `Certificate ${fingerprint.slice(0, 16)} was not issued by cluster ${clusterId}'s CA`);
  }
  const now = (options.now ?? new Date()).getTime();
  const notBefore = Date.parse(certificate.validFrom);
  const notAfter = Date.parse(certificate.validTo);
  if (!(now >= notBefore && now <= notAfter)) {
    throw new ClusterError(ClusterErrorCode.CertificateExpired, `Certificate ${fingerprint.slice(0, 16)} is not valid now (valid ${certificate.validFrom} to ${certificate.validTo})`);
  }
  const subject = subjectFields(certificate.subject);
  const nodeId = subject.get('CN');
  const role = subject.get('OU');
  if (subject.get('O') !== `berth-${clusterId}` || nodeId === undefined || !nodeIdPattern.test(nodeId) || !isNodeRole(role)) {
    throw new ClusterError(ClusterErrorCode.CertificateForeign, `Certificate ${fingerprint.slice(0, 16)} is not a Berth node certificate of cluster ${clusterId}`);
  }
  const addresses = (certificate.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith('IP Address:'))
    .map((entry) => entry.slice('IP Address:'.length)).filter((address) => address !== '127.0.0.1' && address !== '0:0:0:0:0:0:0:1' && address !== '::1');
  return { nodeId, role, clusterId, addresses, notAfter: new Date(notAfter), fingerprint };
}

function subjectFields(subject: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of subject.split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0 && !fields.has(line.slice(0, separator))) fields.set(line.slice(0, separator), line.slice(separator + 1));
  }
  return fields;
}
