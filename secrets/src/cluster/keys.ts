import { defineCollection } from '../store/keyspace.js';
import type { JoinTokenRecord } from './join-token.js';
import { isNodeRole, type NodeRole } from './node-cert.js';

/** Cluster-wide facts, one entry (`cluster`). */
export interface ClusterInfo {
  readonly clusterId: string;
  readonly caFingerprint: string;
  readonly createdAt: string;
}

/** A host that completed its join (written by the host itself, last step of init/join). */
export interface HostRecord {
  readonly nodeId: string;
  readonly hostname: string;
  readonly role: NodeRole;
  readonly addresses: readonly string[];
  readonly joinPort: number;
  readonly joinedAt: string;
  /** When the host's node certificate expires (rewritten by the host at each renewal; informational). */
  readonly certificateExpiresAt?: string | undefined;
}

/** Present while the host's berthd keeps its lease alive. */
export interface AliveRecord {
  readonly nodeId: string;
  readonly pid: number;
  readonly since: string;
}

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('expected an object');
  return value as Json;
}

function string(value: unknown, name: string, max = 256): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new TypeError(`${name} must be an integer in ${min}..${max}`);
  return value;
}

function role(value: unknown): NodeRole {
  if (!isNodeRole(value)) throw new TypeError('role must be manager or worker');
  return value;
}

export const clusterInfoCollection = defineCollection<ClusterInfo>('cluster/info', (value) => {
  const v = object(value);
  return { clusterId: string(v['clusterId'], 'clusterId', 64), caFingerprint: string(v['caFingerprint'], 'caFingerprint', 64), createdAt: string(v['createdAt'], 'createdAt', 64) };
});

export const hostsCollection = defineCollection<HostRecord>('cluster/hosts', (value) => {
  const v = object(value);
  const addresses = v['addresses'];
  if (!Array.isArray(addresses) || addresses.length > 8) throw new TypeError('addresses must be a list of at most 8');
  return {
    nodeId: string(v['nodeId'], 'nodeId', 63), hostname: string(v['hostname'], 'hostname', 255), role: role(v['role']),
    addresses: addresses.map((a) => string(a, 'address', 64)), joinPort: integer(v['joinPort'], 'joinPort', 1, 65_535), joinedAt: string(v['joinedAt'], 'joinedAt', 64),
    certificateExpiresAt: v['certificateExpiresAt'] === undefined ? undefined : string(v['certificateExpiresAt'], 'certificateExpiresAt', 64),
  };
});

export const aliveCollection = defineCollection<AliveRecord>('cluster/alive', (value) => {
  const v = object(value);
  return { nodeId: string(v['nodeId'], 'nodeId', 63), pid: integer(v['pid'], 'pid', 1, 2 ** 31), since: string(v['since'], 'since', 64) };
});

export const joinTokensCollection = defineCollection<JoinTokenRecord>('cluster/join-tokens', (value) => {
  const v = object(value);
  return {
    role: role(v['role']), secretHash: string(v['secretHash'], 'secretHash', 80), sealedSecret: string(v['sealedSecret'], 'sealedSecret', 256),
    createdAt: string(v['createdAt'], 'createdAt', 64),
    expiresAt: v['expiresAt'] === undefined ? undefined : string(v['expiresAt'], 'expiresAt', 64),
  };
});

/** Serials of the certificates issued to one node and not yet expired (so leave/rm can revoke every one). */
export interface IssuedRecord {
  readonly nodeId: string;
  readonly certificates: readonly { readonly serial: string; readonly notAfter: string }[];
}

/** A node removed from the cluster (leave, rm): its serials go into every member's CRL. */
export interface RevokedRecord {
  readonly nodeId: string;
  readonly serials: readonly string[];
  readonly revokedAt: string;
  /** When the last of its certificates expires; the record can be dropped after. */
  readonly expiresAt: string;
}

function serials(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 64) throw new TypeError('serials must be a list of at most 64');
  return value.map((serial) => {
    if (typeof serial !== 'string' || !/^[0-9a-f]{1,40}$/.test(serial)) throw new TypeError('serial must be 1-40 lowercase hex digits');
    return serial;
  });
}

export const issuedCollection = defineCollection<IssuedRecord>('cluster/issued', (value) => {
  const v = object(value);
  const certificates = v['certificates'];
  if (!Array.isArray(certificates) || certificates.length > 64) throw new TypeError('certificates must be a list of at most 64');
  return {
    nodeId: string(v['nodeId'], 'nodeId', 63),
    certificates: certificates.map((entry: unknown) => {
      const c = object(entry);
      return { serial: serials([c['serial']])[0] ?? '', notAfter: string(c['notAfter'], 'notAfter', 64) };
    }),
  };
});

export const revokedCollection = defineCollection<RevokedRecord>('cluster/revoked', (value) => {
  const v = object(value);
  return {
    nodeId: string(v['nodeId'], 'nodeId', 63), serials: serials(v['serials']), revokedAt: string(v['revokedAt'], 'revokedAt', 64),
    expiresAt: string(v['expiresAt'], 'expiresAt', 64),
  };
});

export const clusterInfoId = 'cluster';
