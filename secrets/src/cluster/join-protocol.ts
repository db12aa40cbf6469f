import { isIP } from 'node:net';
import { ClusterError, ClusterErrorCode, type ClusterErrorCodeValue } from './errors.js';
import type { EtcdPeer } from './etcd-config.js';
import { assertNodeAddresses, assertNodeId, isNodeRole, type NodeRole } from './node-cert.js';
import { joinTokenLengthMax } from './join-token.js';
import { pemLengthMax } from './pki.js';

/** Docker swarm's management port; Berth's join endpoint listens there on managers. */
export const joinPortDefault = 2377;
/** Bodies of the join API are small JSON documents; anything larger is refused before parsing. */
export const joinBodyBytesMax = 64 * 1024;

export interface JoinRequest {
  readonly token: string;
  readonly csrPem: string;
  /** Exactly one: the address the joiner connects from (and is known by). */
  readonly addresses: readonly string[];
  readonly hostname: string;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
}

export interface JoinResponse {
  readonly clusterId: string;
  /** Assigned by the manager. */
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly certificatePem: string;
  /** Managers only: the `<nodeId>.admin` certificate for the same key. */
  readonly adminCertificatePem: string | undefined;
  readonly caCertificatePem: string;
  /** Managers only: managers sign certificates for later joiners. */
  readonly caPrivateKeyPem: string | undefined;
  readonly clientUrls: readonly string[];
  /** Managers only: the etcd learner just added for the joiner, and how to start it. */
  readonly member: { readonly memberId: string; readonly clusterToken: string; readonly initialCluster: readonly EtcdPeer[] } | undefined;
  /** Managers only: the cluster key (KEK) that wraps secrets' data keys, and whether the cluster is autolocked. */
  readonly clusterKey?: { readonly kekId: string; readonly key: string; readonly autolock: boolean } | undefined;
}

type Json = Record<string, unknown>;

function fields(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} must be a JSON object`);
  return value as Json;
}

function invalid(message: string): ClusterError {
  return new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid join request: ${message}`);
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(`${name} must be a string of 1-${max} characters`);
  return value;
}

function port(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) throw invalid(`${name} must be a port number`);
  return value;
}

export function parseJoinRequest(value: unknown): JoinRequest {
  const v = fields(value, 'body');
  const known = new Set(['token', 'csrPem', 'addresses', 'hostname', 'etcdClientPort', 'etcdPeerPort']);
  const unknown = Object.keys(v).filter((key) => !known.has(key));
  if (unknown.length > 0) throw invalid(`unknown field ${JSON.stringify(unknown[0]?.slice(0, 40))}`);
  assertNodeAddresses(v['addresses']);
  if (v['addresses'].length !== 1) throw invalid('addresses must hold exactly one address: the one the joiner connects from');
  const hostname = text(v['hostname'], 'hostname', 255);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(hostname)) throw invalid('hostname has characters outside [a-zA-Z0-9.-]');
  return {
    token: text(v['token'], 'token', joinTokenLengthMax),
    csrPem: text(v['csrPem'], 'csrPem', pemLengthMax),
    addresses: [...v['addresses']],
    hostname,
    etcdClientPort: port(v['etcdClientPort'], 'etcdClientPort'),
    etcdPeerPort: port(v['etcdPeerPort'], 'etcdPeerPort'),
  };
}

export function parseJoinResponse(value: unknown): JoinResponse {
  const v = fields(value, 'response');
  const role = v['role'];
  if (!isNodeRole(role)) throw invalid('response role');
  const clientUrls = v['clientUrls'];
  if (!Array.isArray(clientUrls) || clientUrls.length === 0 || !clientUrls.every((url) => typeof url === 'string' && /^https:\/\//.test(url))) throw invalid('response client URLs');
  const memberValue = v['member'];
  let member: JoinResponse['member'];
  if (memberValue !== undefined && memberValue !== null) {
    const m = fields(memberValue, 'member');
    const initialCluster = m['initialCluster'];
    if (!Array.isArray(initialCluster)) throw invalid('member.initialCluster');
    member = {
      memberId: text(m['memberId'], 'memberId', 32),
      clusterToken: text(m['clusterToken'], 'clusterToken', 64),
      initialCluster: initialCluster.map((peer: unknown) => {
        const p = fields(peer, 'peer');
        return { name: text(p['name'], 'peer name', 63), peerUrl: text(p['peerUrl'], 'peer URL', 100) };
      }),
    };
  }
  const caKey = v['caPrivateKeyPem'];
  const clusterKey = v['clusterKey'];
  const adminCertificate = v['adminCertificatePem'];
  const nodeId = v['nodeId'];
  assertNodeId(nodeId);
  return {
    ...(clusterKey === undefined || clusterKey === null ? {} : { clusterKey: parseClusterKeyField(clusterKey) }),
    clusterId: text(v['clusterId'], 'clusterId', 64),
    nodeId,
    role,
    certificatePem: text(v['certificatePem'], 'certificatePem', pemLengthMax),
    adminCertificatePem: typeof adminCertificate === 'string' ? text(adminCertificate, 'adminCertificatePem', pemLengthMax) : undefined,
    caCertificatePem: text(v['caCertificatePem'], 'caCertificatePem', pemLengthMax),
    caPrivateKeyPem: typeof caKey === 'string' ? caKey : undefined,
    clientUrls: clientUrls as string[],
    member,
  };
}

function parseClusterKeyField(value: unknown): NonNullable<JoinResponse['clusterKey']> {
  const v = fields(value, 'clusterKey');
  if (typeof v['autolock'] !== 'boolean') throw invalid('clusterKey.autolock');
  return { kekId: text(v['kekId'], 'clusterKey.kekId', 32), key: text(v['key'], 'clusterKey.key', 64), autolock: v['autolock'] };
}

/** `ADDR[:PORT]`, `[v6]:PORT` or a bare IPv6 address. */
export function parseAddressWithPort(value: string, defaultPort: number): { address: string; port: number } {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(value);
  const plain = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(value);
  const match = bracketed ?? plain;
  const address = match?.[1] ?? (isIP(value) === 6 ? value : undefined);
  const portText = match?.[2];
  const portNumber = portText === undefined ? defaultPort : Number(portText);
  if (address === undefined || isIP(address) === 0 || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65_535) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid address ${JSON.stringify(value.slice(0, 80))}: expected ADDR[:PORT] with an IP address`);
  }
  return { address, port: portNumber };
}

const knownCodes = new Set<string>(Object.values(ClusterErrorCode));

/** The JSON error body both Berth APIs use; the code survives the wire so callers can still branch on it. */
export function errorBody(error: ClusterError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

export function errorFromBody(status: number, body: unknown, what: string): ClusterError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' && knownCodes.has(e.code) ? (e.code as ClusterErrorCodeValue) : ClusterErrorCode.JoinFailed;
  const message = typeof e?.message === 'string' ? e.message.slice(0, 500) : `${what} failed with HTTP ${status}`;
  return new ClusterError(code, message);
}

export function httpStatusOf(code: ClusterErrorCodeValue): number {
  switch (code) {
    case ClusterErrorCode.RequestInvalid: case ClusterErrorCode.TokenMalformed: return 400;
    case ClusterErrorCode.TokenRejected: case ClusterErrorCode.CaMismatch: case ClusterErrorCode.NodeRevoked: return 403;
    case ClusterErrorCode.NodeUnknown: return 404;
    case ClusterErrorCode.RateLimited: return 429;
    case ClusterErrorCode.CertificateExpired: case ClusterErrorCode.CertificateForeign: case ClusterErrorCode.CertificateInvalid: return 403;
    case ClusterErrorCode.NotInitialized: case ClusterErrorCode.AlreadyInCluster: case ClusterErrorCode.LastManager: case ClusterErrorCode.NotManager: return 409;
    default: return 500;
  }
}
