/**
 * The firewall's part of the cluster store (access rows in @berth/secrets' access.ts: `policies/` managers rw,
 * workers r; `endpoints/` workers r all and rw only under their own node id):
 *
 *   /berth/v1/policies/documents/<Kind>:<ns>:<name>   a policy or Namespace document as applied (kubectl form)
 *   /berth/v1/policies/settings/cluster                {"monitor": bool}: global monitor mode
 *   /berth/v1/endpoints/<nodeId>/<ns>:<name>           an endpoint one host registered (CNI ADD on that host)
 *
 * Every value is checked by the firewall's own parsers on every read, so a bad entry is named and skipped, never
 * compiled.
 */
import {
  StoreError, StoreErrorCode, defineCollection, keyspaceRoot, type Collection,
} from '@berth/secrets';
import { documentKey, parseDocumentObject, parseEndpoint, type EndpointRecord, type PolicyDocument } from '@berth/firewall';

export interface StoredPolicyDocument {
  readonly key: string;
  readonly document: PolicyDocument;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface PolicySettings {
  readonly monitor: boolean;
}

export const policiesPrefix = `${keyspaceRoot}policies/`;
export const endpointsPrefix = `${keyspaceRoot}endpoints/`;
export const settingsId = 'cluster';

/** `NetworkPolicy/x/deny` ↔ `NetworkPolicy:x:deny` (store ids have no `/`; namespaces and names have no `:`). */
export function documentStoreId(key: string): string {
  const id = key.replaceAll('/', ':');
  if (id.length > 128) throw new StoreError(StoreErrorCode.InvalidKey, `Cannot store ${key} in the cluster: kind, namespace and name together exceed 128 characters`);
  return id;
}

export function documentKeyOfStoreId(id: string): string {
  return id.replaceAll(':', '/');
}

export function endpointStoreId(endpoint: { namespace: string; name: string }): string {
  const id = `${endpoint.namespace}:${endpoint.name}`;
  if (id.length > 128) throw new StoreError(StoreErrorCode.InvalidKey, `Cannot register endpoint ${endpoint.namespace}/${endpoint.name} in the cluster: namespace and name together exceed 127 characters`);
  return id;
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('expected a JSON object');
  return value as Record<string, unknown>;
}

export type RawDocument = Readonly<Record<string, unknown>>;

/** A document as applied (metadata.namespace filled in for NetworkPolicies), valid on every read and write. */
export const policyDocumentsCollection: Collection<RawDocument> = defineCollection<RawDocument>('policies/documents', (value) => {
  const raw = asObject(value);
  parseDocumentObject(raw);
  return raw;
});

export function storedDocument(raw: RawDocument): StoredPolicyDocument {
  const document = parseDocumentObject(raw);
  return { key: documentKey(document), document, raw };
}

export const policySettingsCollection: Collection<PolicySettings> = defineCollection<PolicySettings>('policies/settings', (value) => {
  const monitor = asObject(value)['monitor'];
  if (typeof monitor !== 'boolean') throw new TypeError('monitor must be true or false');
  return { monitor };
});

export function parseEndpointRecord(value: unknown): EndpointRecord {
  const { network, containerId, ifName, ...rest } = asObject(value);
  const optional = (field: unknown, name: string): string | null => {
    if (field === null || field === undefined) return null;
    if (typeof field !== 'string' || field.length > 256) throw new TypeError(`${name} must be a string of at most 256 characters or null`);
    return field;
  };
  return { ...parseEndpoint(rest), network: optional(network, 'network'), containerId: optional(containerId, 'containerId'), ifName: optional(ifName, 'ifName') };
}

const endpointCollections = new Map<string, Collection<EndpointRecord>>();

/** One host's endpoints (the collection a worker may write). */
export function endpointsCollection(nodeId: string): Collection<EndpointRecord> {
  let collection = endpointCollections.get(nodeId);
  if (collection === undefined) {
    collection = defineCollection<EndpointRecord>(`endpoints/${nodeId}`, parseEndpointRecord, { valueBytesMax: 64 * 1024 });
    endpointCollections.set(nodeId, collection);
  }
  return collection;
}

/** The node id of a key under endpoints/ (`/berth/v1/endpoints/<nodeId>/<id>`), undefined for anything else. */
export function endpointOwnerOf(key: string): string | undefined {
  if (!key.startsWith(endpointsPrefix)) return undefined;
  const [nodeId, id, ...rest] = key.slice(endpointsPrefix.length).split('/');
  return nodeId !== undefined && nodeId !== '' && id !== undefined && id !== '' && rest.length === 0 ? nodeId : undefined;
}
