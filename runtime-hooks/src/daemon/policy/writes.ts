/**
 * Writes of policies and endpoints into the cluster store, each one etcd transaction. Policy writes check the
 * revisions they read (a concurrent `apply` on another manager makes the transaction fail, and it is redone on the
 * new state, at most `writeAttemptsMax` times), so `created/configured/unchanged` are true of the committed state.
 * Endpoint writes touch only the caller's own prefix, and one berthd serialises them.
 */
import {
  FirewallCode, FirewallError, applyDocumentsToState, documentKey, type Attachment, type EndpointRecord, type FirewallState, type ParsedDocument,
} from '@berth/firewall';
import { absent, type Revision, type Store } from '@berth/secrets';
import {
  documentStoreId, endpointStoreId, endpointsCollection, policyDocumentsCollection, policySettingsCollection, settingsId, storedDocument, type RawDocument,
} from './schema.js';

export const writeAttemptsMax = 5;
/** etcd refuses a transaction with more than 128 compares or puts (--max-txn-ops); each document is one of each. */
export const documentsPerApplyMax = 100;

export interface PolicyApplyOutcome {
  readonly created: readonly string[];
  readonly configured: readonly string[];
  readonly unchanged: readonly string[];
  /** The store revision of the transaction; 0 when nothing was written (no documents, or all unchanged). */
  readonly revision: Revision;
}

/** `berth policy apply` in a cluster: all documents in one transaction, or none. */
export async function applyPolicies(store: Store, parsed: readonly ParsedDocument[]): Promise<PolicyApplyOutcome> {
  if (parsed.length === 0) return { created: [], configured: [], unchanged: [], revision: 0 as Revision };
  if (parsed.length > documentsPerApplyMax) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot apply ${parsed.length} documents in one cluster transaction: at most ${documentsPerApplyMax} (split the file)`);
  }
  const ids = [...new Set(parsed.map(({ document }) => documentStoreId(documentKey(document))))];
  for (let attempt = 1; attempt <= writeAttemptsMax; attempt += 1) {
    // Only the documents being applied are read: an apply costs what it touches, not what the cluster holds.
    const entries = (await Promise.all(ids.map((id) => store.get(policyDocumentsCollection, id)))).filter((entry) => entry !== undefined);
    const byId = new Map(entries.map((entry) => [entry.id, entry]));
    const state: FirewallState = { documents: entries.map((entry) => storedDocument(entry.value)), endpoints: [], monitor: false };
    const outcome = applyDocumentsToState(state, parsed);
    const transaction = store.transaction();
    for (const key of new Set([...outcome.created, ...outcome.configured, ...outcome.unchanged])) {
      const id = documentStoreId(key);
      transaction.require(policyDocumentsCollection, id, byId.get(id)?.modRevision ?? absent);
      const stored = outcome.state.documents.find((item) => item.key === key);
      if (stored !== undefined && !outcome.unchanged.includes(key)) transaction.put(policyDocumentsCollection, id, stored.raw as RawDocument);
    }
    const result = await transaction.commit();
    const wrote = outcome.created.length + outcome.configured.length > 0;
    if (result.succeeded) return { created: outcome.created, configured: outcome.configured, unchanged: outcome.unchanged, revision: wrote ? result.revision : 0 as Revision };
  }
  throw new FirewallError(FirewallCode.State, `Cannot apply the documents: the cluster's policies changed under ${writeAttemptsMax} attempts in a row; try again`);
}

/** `berth policy rm` in a cluster; NOT_FOUND when the document is not there. */
export async function removePolicy(store: Store, key: string): Promise<Revision> {
  const id = documentStoreId(key);
  for (let attempt = 1; attempt <= writeAttemptsMax; attempt += 1) {
    const current = await store.get(policyDocumentsCollection, id);
    if (current === undefined) throw new FirewallError(FirewallCode.NotFound, `Cannot remove ${key}: no such document in the cluster`);
    const result = await store.transaction().require(policyDocumentsCollection, id, current.modRevision).delete(policyDocumentsCollection, id).commit();
    if (result.succeeded) return result.revision;
  }
  throw new FirewallError(FirewallCode.State, `Cannot remove ${key}: it changed under ${writeAttemptsMax} attempts in a row; try again`);
}

export function setClusterMonitor(store: Store, monitor: boolean): Promise<Revision> {
  return store.put(policySettingsCollection, settingsId, { monitor });
}

function owns(record: EndpointRecord, attachment: Attachment): boolean {
  return record.containerId === attachment.containerId && record.ifName === attachment.ifName;
}

/** This host's records: listed from the store, or as its own watch holds them (see PolicyRuntime.registry). */
export type OwnEndpoints = () => Promise<ReadonlyArray<{ readonly id: string; readonly value: EndpointRecord }>>;

export function listOwnEndpoints(store: Store, nodeId: string): OwnEndpoints {
  return async () => (await store.list(endpointsCollection(nodeId))).entries;
}

/**
 * Registers an endpoint under this host's prefix; this host's records for the same attachment or claiming one of
 * its addresses are stale (a missed DEL, a reused address) and go in the same transaction.
 */
export async function registerEndpoint(store: Store, nodeId: string, record: EndpointRecord, own: OwnEndpoints = listOwnEndpoints(store, nodeId)): Promise<Revision> {
  const collection = endpointsCollection(nodeId);
  const id = endpointStoreId(record);
  const entries = await own();
  const addresses = new Set(record.ips);
  const transaction = store.transaction();
  for (const entry of entries) {
    const stale = entry.id !== id && ((record.containerId !== null && record.ifName !== null && owns(entry.value, { containerId: record.containerId, ifName: record.ifName }))
      || entry.value.ips.some((ip) => addresses.has(ip)));
    if (stale) transaction.delete(collection, entry.id);
  }
  return (await transaction.put(collection, id, record).commit()).revision;
}

/** Removes this host's records of an attachment; undefined when there were none (DEL is idempotent). */
export async function unregisterEndpoint(store: Store, nodeId: string, attachment: Attachment): Promise<Revision | undefined> {
  const collection = endpointsCollection(nodeId);
  const { entries } = await store.list(collection);
  return deleteEntries(store, nodeId, entries.filter((entry) => owns(entry.value, attachment)));
}

export async function findEndpoint(store: Store, nodeId: string, attachment: Attachment): Promise<EndpointRecord | undefined> {
  const { entries } = await store.list(endpointsCollection(nodeId));
  return entries.find((entry) => owns(entry.value, attachment))?.value;
}

/** CNI GC: this host's records of the network whose attachment is not in `valid`. */
export async function collectEndpoints(store: Store, nodeId: string, network: string, valid: ReadonlySet<string>): Promise<Revision | undefined> {
  const { entries } = await store.list(endpointsCollection(nodeId));
  return deleteEntries(store, nodeId, entries.filter((entry) => entry.value.network === network && entry.value.containerId !== null
    && !valid.has(`${entry.value.containerId}/${entry.value.ifName ?? ''}`)));
}

async function deleteEntries(store: Store, nodeId: string, entries: ReadonlyArray<{ readonly id: string }>): Promise<Revision | undefined> {
  if (entries.length === 0) return undefined;
  const collection = endpointsCollection(nodeId);
  const transaction = store.transaction();
  for (const entry of entries) transaction.delete(collection, entry.id);
  return (await transaction.commit()).revision;
}
