/**
 * The secrets keyspace. Access rows (secrets/src/cluster/access.ts, issue 10):
 *   secrets/   manager rw, worker none   (KEK records, versions, ciphertext, grants, audit)
 *   tasks/<nodeId>/<containerId>   manager rw; worker rw own prefix tasks/<ownId>/, nothing else
 */
import { defineCollection, type Collection } from '../store/keyspace.js';
import { grantNodesMax, labelsMax, parseLabels, secretBytesMax, versionsMax } from './names.js';

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('expected an object');
  return value as Json;
}

function text(value: unknown, name: string, max = 256): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

function optionalText(value: unknown, name: string, max: number): string | undefined {
  return value === undefined || value === null ? undefined : text(value, name, max);
}

function count(value: unknown, name: string, max = 2 ** 31 - 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw new TypeError(`${name} must be an integer in 0..${max}`);
  return value;
}

/** base64 of a sealed value: 500 KiB of plaintext plus nonce and tag, as base64. */
const sealedValueLengthMax = Math.ceil((secretBytesMax + 64) / 3) * 4;
const sealedKeyLengthMax = 200;

export interface VersionInfo {
  readonly version: number;
  readonly createdAt: string;
  readonly bytes: number;
}

/** One secret: which version is in use (`current`), the highest ever made (`latest`), the versions kept. */
export interface SecretMeta {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly current: number;
  readonly latest: number;
  readonly versions: readonly VersionInfo[];
}

export const secretMetaCollection = defineCollection<SecretMeta>('secrets/meta', (value) => {
  const v = object(value);
  const versions = v['versions'];
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > versionsMax) throw new TypeError(`versions must list 1-${versionsMax}`);
  const meta: SecretMeta = {
    name: text(v['name'], 'name', 64), labels: parseLabels(v['labels']), createdAt: text(v['createdAt'], 'createdAt', 64),
    updatedAt: text(v['updatedAt'], 'updatedAt', 64), current: count(v['current'], 'current'), latest: count(v['latest'], 'latest'),
    versions: versions.map((entry: unknown) => {
      const e = object(entry);
      return { version: count(e['version'], 'version'), createdAt: text(e['createdAt'], 'createdAt', 64), bytes: count(e['bytes'], 'bytes', secretBytesMax) };
    }),
  };
  if (!meta.versions.some((entry) => entry.version === meta.current)) throw new TypeError('current must be a kept version');
  if (Object.keys(meta.labels).length > labelsMax) throw new TypeError('too many labels');
  return meta;
});

/** The wrapped data key of one version (small: what a KEK rotation rewrites). Id `<name>:<version>`. */
export interface VersionKeyRecord {
  readonly kekId: string;
  readonly wrappedKey: string;
}

export const versionKeyCollection = defineCollection<VersionKeyRecord>('secrets/version-keys', (value) => {
  const v = object(value);
  return { kekId: text(v['kekId'], 'kekId', 32), wrappedKey: text(v['wrappedKey'], 'wrappedKey', sealedKeyLengthMax) };
});

/** The sealed value of one version, immutable. Id `<name>:<version>`. */
export interface VersionValueRecord {
  readonly value: string;
}

export const versionValueCollection = defineCollection<VersionValueRecord>('secrets/values', (value) => ({
  value: text(object(value)['value'], 'value', sealedValueLengthMax),
}), { valueBytesMax: sealedValueLengthMax + 64 });

export function versionId(name: string, version: number): string {
  return `${name}:${version}`;
}

/** A service's right to a secret, and how the file looks in its containers. Id `<secret>:<service>`. */
export interface GrantRecord {
  readonly secret: string;
  readonly service: string;
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly nodes: readonly string[];
  readonly createdAt: string;
}

export const grantCollection = defineCollection<GrantRecord>('secrets/grants', (value) => {
  const v = object(value);
  const nodes = v['nodes'];
  if (!Array.isArray(nodes) || nodes.length > grantNodesMax) throw new TypeError(`nodes must list at most ${grantNodesMax}`);
  return {
    secret: text(v['secret'], 'secret', 64), service: text(v['service'], 'service', 64), target: text(v['target'], 'target', 64),
    uid: count(v['uid'], 'uid'), gid: count(v['gid'], 'gid'), mode: count(v['mode'], 'mode', 0o777),
    nodes: nodes.map((node) => text(node, 'node', 63)), createdAt: text(v['createdAt'], 'createdAt', 64),
  };
});

export function grantId(secret: string, service: string): string {
  return `${secret}:${service}`;
}

/**
 * The cluster key's public state (one entry, `cluster`): which KEK is current; with autolock, the KEK sealed by the
 * unlock key (`lockedKek`) and the unlock key sealed by the KEK (`unlockKey`, so every unlocked manager can re-seal
 * after a KEK rotation); a KEK rotation in progress (`rotation`).
 */
export interface KeyringRecord {
  readonly kekId: string;
  readonly autolock: boolean;
  readonly lockedKek: string | undefined;
  readonly unlockKey: string | undefined;
  readonly rotation: { readonly fromKekId: string; readonly toKekId: string; readonly startedAt: string } | undefined;
  readonly updatedAt: string;
}

export const keyringId = 'cluster';

export const keyringCollection = defineCollection<KeyringRecord>('secrets/keyring', (value) => {
  const v = object(value);
  const rotation = v['rotation'];
  let parsedRotation: KeyringRecord['rotation'];
  if (rotation !== undefined && rotation !== null) {
    const r = object(rotation);
    parsedRotation = { fromKekId: text(r['fromKekId'], 'fromKekId', 32), toKekId: text(r['toKekId'], 'toKekId', 32), startedAt: text(r['startedAt'], 'startedAt', 64) };
  }
  if (typeof v['autolock'] !== 'boolean') throw new TypeError('autolock must be a boolean');
  return {
    kekId: text(v['kekId'], 'kekId', 32), autolock: v['autolock'],
    lockedKek: optionalText(v['lockedKek'], 'lockedKek', sealedKeyLengthMax), unlockKey: optionalText(v['unlockKey'], 'unlockKey', sealedKeyLengthMax),
    rotation: parsedRotation, updatedAt: text(v['updatedAt'], 'updatedAt', 64),
  };
});

/** Links a KEK to the one before it, both ways: holders of either can get the other. Id: the newer KEK's id. */
export interface KekChainRecord {
  readonly kekId: string;
  readonly previousKekId: string;
  /** The newer KEK sealed by the previous one (a manager that missed the rotation follows it). */
  readonly forward: string;
  /** The previous KEK sealed by the newer one (versions not yet re-wrapped stay readable). */
  readonly backward: string;
  readonly createdAt: string;
}

export const kekChainCollection = defineCollection<KekChainRecord>('secrets/kek-chain', (value) => {
  const v = object(value);
  return {
    kekId: text(v['kekId'], 'kekId', 32), previousKekId: text(v['previousKekId'], 'previousKekId', 32),
    forward: text(v['forward'], 'forward', sealedKeyLengthMax), backward: text(v['backward'], 'backward', sealedKeyLengthMax),
    createdAt: text(v['createdAt'], 'createdAt', 64),
  };
});

export const auditActions = [
  'create', 'rotate', 'rollback', 'grant', 'revoke', 'rm', 'unlock', 'unlock-refused', 'autolock', 'unlock-key-rotate', 'key-rotate', 'key-rotate-done',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** Who did what to which secret and version, when; never a value or a key. Ids sort by time within a prefix. */
export interface AuditEntry {
  readonly at: string;
  readonly node: string;
  /** The local API caller's uid (SO_PEERCRED); undefined when the change came from inside berthd. */
  readonly uid: number | undefined;
  readonly action: AuditAction;
  readonly secret: string | undefined;
  readonly version: number | undefined;
  readonly service: string | undefined;
  readonly detail: string | undefined;
}

export const auditCollection = defineCollection<AuditEntry>('secrets/audit', (value) => {
  const v = object(value);
  const action = v['action'];
  if (typeof action !== 'string' || !(auditActions as readonly string[]).includes(action)) throw new TypeError('unknown audit action');
  return {
    at: text(v['at'], 'at', 64), node: text(v['node'], 'node', 63), uid: v['uid'] === undefined || v['uid'] === null ? undefined : count(v['uid'], 'uid'),
    action: action as AuditAction, secret: optionalText(v['secret'], 'secret', 64),
    version: v['version'] === undefined || v['version'] === null ? undefined : count(v['version'], 'version'),
    service: optionalText(v['service'], 'service', 64), detail: optionalText(v['detail'], 'detail', 200),
  };
});

/** A running container of a service on a host, registered by that host's berthd. */
export interface TaskRecord {
  readonly containerId: string;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeId: string;
  readonly registeredAt: string;
}

const taskCollections = new Map<string, Collection<TaskRecord>>();

/** `tasks/<nodeId>/<containerId>`: one collection per host, so a host's tasks are one prefix (and one access row). */
export function tasksCollection(nodeId: string): Collection<TaskRecord> {
  let collection = taskCollections.get(nodeId);
  if (collection === undefined) {
    collection = defineCollection<TaskRecord>(`tasks/${nodeId}`, (value) => {
      const v = object(value);
      return {
        containerId: text(v['containerId'], 'containerId', 128), service: text(v['service'], 'service', 64), labels: parseLabels(v['labels']),
        nodeId: text(v['nodeId'], 'nodeId', 63), registeredAt: text(v['registeredAt'], 'registeredAt', 64),
      };
    });
    taskCollections.set(nodeId, collection);
  }
  return collection;
}

export const secretsPrefix = '/berth/v1/secrets/';
export const tasksPrefix = '/berth/v1/tasks/';
