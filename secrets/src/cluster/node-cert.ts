import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { assert } from './assert.js';
import { clusterIdOfCa, loadClusterCa, type ClusterCaPem } from './ca.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { certificateFingerprint, describe, exportPrivateKeyPem, generateKeyPair, newSerialNumber, parseCertificate, pemLengthMax, signingAlgorithm } from './pki.js';

export const nodeRoles = ['manager', 'worker'] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** What a node certificate says about its holder, after the chain and the dates were checked. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
  readonly addresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprint: string;
  /** Lowercase hex, as a CRL lists it. */
  readonly serial: string;
}

/** Node certificates are short-lived and renewed by berthd at two thirds of their life. */
export const nodeCertificateValiditySecondsDefault = 90 * 86_400;
export const nodeCertificateValiditySecondsMin = 10;
export const nodeCertificateValiditySecondsMax = 3 * 365 * 86_400;
export const nodeAddressesMax = 8;
const nodeIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function newNodeId(): string {
  return `n${randomBytes(6).toString('hex')}`;
}

export function isNodeRole(value: unknown): value is NodeRole {
  return value === 'manager' || value === 'worker';
}

export function assertNodeId(nodeId: unknown): asserts nodeId is string {
  // `root` is etcd's administrator user: no certificate may ever carry that CN.
  if (typeof nodeId !== 'string' || !nodeIdPattern.test(nodeId) || nodeId === 'root') {
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

/**
 * A new node key and a CSR proving possession of it; the key never leaves the node. The CSR's subject is only a
 * label: the manager assigns the node id and the role.
 */
export async function createNodeKeyAndCsr(label = 'joining-node'): Promise<{ privateKeyPem: string; csrPem: string }> {
  assertNodeId(label);
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${label}`, keys, signingAlgorithm });
  return { privateKeyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}

/** The key a certificate is issued for: from a CSR (join) or from the holder's current certificate (renewal). */
export type SubjectKeySource = { readonly csrPem: string } | { readonly certificatePem: string };

export interface IssueNodeCertificateOptions {
  readonly ca: ClusterCaPem;
  readonly subjectKey: SubjectKeySource;
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly addresses: readonly string[];
  readonly now?: Date;
  readonly validitySeconds?: number;
}

/**
 * The DNS name only manager certificates carry: etcd's peer port admits a certificate only when it is valid for this
 * name (`--peer-cert-allowed-hostname`), so workers can never be peers.
 */
export function managerPeerName(clusterId: string): string {
  return `manager.berth-${clusterId}`;
}

export function assertValiditySeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < nodeCertificateValiditySecondsMin || seconds > nodeCertificateValiditySecondsMax) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid certificate validity ${seconds} s: expected ${nodeCertificateValiditySecondsMin} s to ${nodeCertificateValiditySecondsMax / 86_400} days`);
  }
}

/**
 * Signs a node certificate. Subject and SANs come from the (validated) options, never from the CSR, so a joiner
 * cannot ask for another role or name. Managers' certificates serve TLS (etcd, join endpoint) and carry the manager
 * peer name; workers' are client certificates only.
 */
export async function issueNodeCertificate(options: IssueNodeCertificateOptions): Promise<string> {
  assertNodeId(options.nodeId);
  assertNodeAddresses(options.addresses);
  if (!isNodeRole(options.role)) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid role ${JSON.stringify(String(options.role))}`);
  const clusterId = clusterIdOfCa(options.ca.certificatePem);
  const manager = options.role === 'manager';
  const sans = [...new Set([...options.addresses, '127.0.0.1', '::1'])];
  const pem = await signCertificate(options, {
    subject: `CN=${options.nodeId}, OU=${options.role}, O=berth-${clusterId}`,
    usages: manager ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth],
    names: [
      ...sans.map((value) => ({ type: 'ip' as const, value })),
      { type: 'dns' as const, value: options.nodeId },
      { type: 'dns' as const, value: 'localhost' },
      ...(manager ? [{ type: 'dns' as const, value: managerPeerName(clusterId) }] : []),
    ],
  });
  const identity = verifyNodeCertificate({ certificatePem: pem, caCertificatePem: options.ca.certificatePem, now: options.now ?? new Date() });
  assert(identity.nodeId === options.nodeId && identity.role === options.role, 'an issued certificate verifies as what was asked');
  return pem;
}

/**
 * A manager's administrative client certificate (`CN=<nodeId>.admin, OU=admin`): the only identity that holds
 * etcd's root role, used for membership and auth changes only. It never verifies as a node certificate.
 */
export async function issueAdminCertificate(options: Omit<IssueNodeCertificateOptions, 'role' | 'addresses'>): Promise<string> {
  assertNodeId(options.nodeId);
  const clusterId = clusterIdOfCa(options.ca.certificatePem);
  return signCertificate(options, { subject: `CN=${options.nodeId}.admin, OU=admin, O=berth-${clusterId}`, usages: [x509.ExtendedKeyUsage.clientAuth], names: [] });
}

async function signCertificate(
  options: Pick<IssueNodeCertificateOptions, 'ca' | 'subjectKey' | 'now' | 'validitySeconds'>,
  shape: { subject: string; usages: string[]; names: x509.JsonGeneralName[] },
): Promise<string> {
  const validitySeconds = options.validitySeconds ?? nodeCertificateValiditySecondsDefault;
  assertValiditySeconds(validitySeconds);
  const publicKey = 'csrPem' in options.subjectKey ? (await parseCsr(options.subjectKey.csrPem)).publicKey : new x509.X509Certificate(options.subjectKey.certificatePem).publicKey;
  const { certificate: caCertificate, signingKey } = await loadClusterCa(options.ca);
  const now = options.now ?? new Date();
  // Backdated a little for clock skew, but never by more than a tenth of the life (short test lives stay short).
  const backdateMs = Math.min(60_000, validitySeconds * 100);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: newSerialNumber(),
    subject: shape.subject,
    issuer: caCertificate.subjectName,
    notBefore: new Date(now.getTime() - backdateMs),
    notAfter: new Date(now.getTime() + validitySeconds * 1000),
    signingAlgorithm,
    publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(shape.usages),
      ...(shape.names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(shape.names)]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  return certificate.toString('pem');
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
  return { nodeId, role, clusterId, addresses, notBefore: new Date(notBefore), notAfter: new Date(notAfter), fingerprint, serial: certificate.serialNumber.toLowerCase() };
}

function subjectFields(subject: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of subject.split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0 && !fields.has(line.slice(0, separator))) fields.set(line.slice(0, separator), line.slice(separator + 1));
  }
  return fields;
}
