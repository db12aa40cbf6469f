/** Pure changes to FirewallState: each returns a new state and what it did, never touching disk. */
import { FirewallCode, FirewallError } from '../errors.js';
import type { ParsedDocument } from '../model/documents.js';
import { documentKey } from '../model/policy-set.js';
import type { EndpointRecord, FirewallState, StoredDocument } from './store.js';

export interface ApplyOutcome {
  readonly state: FirewallState;
  readonly created: readonly string[];
  readonly configured: readonly string[];
  readonly unchanged: readonly string[];
}

/** Upserts documents by key, like `kubectl apply` (created / configured / unchanged). */
export function applyDocuments(state: FirewallState, parsed: readonly ParsedDocument[]): ApplyOutcome {
  const byKey = new Map(state.documents.map((stored) => [stored.key, stored]));
  const created: string[] = [];
  const configured: string[] = [];
  const unchanged: string[] = [];
  for (const { document, raw } of parsed) {
    const key = documentKey(document);
    const metadata = (raw['metadata'] ?? {}) as Record<string, unknown>;
    // Store the namespace the policy was applied to, so reloading never depends on a command-line default.
    const normalized = document.kind === 'NetworkPolicy' ? { ...raw, metadata: { ...metadata, namespace: document.namespace } } : raw;
    const stored: StoredDocument = { key, document, raw: normalized };
    const old = byKey.get(key);
    if (old === undefined) created.push(key);
    else if (JSON.stringify(old.raw) === JSON.stringify(normalized)) unchanged.push(key);
    else configured.push(key);
    byKey.set(key, stored);
  }
  return { state: { ...state, documents: [...byKey.values()] }, created, configured, unchanged };
}

export function removeDocument(state: FirewallState, key: string): FirewallState {
  if (!state.documents.some((stored) => stored.key === key)) {
    throw new FirewallError(FirewallCode.NotFound, `Cannot remove ${key}: no such document`);
  }
  return { ...state, documents: state.documents.filter((stored) => stored.key !== key) };
}

/**
 * Registers an endpoint. A record with the same NAMESPACE/NAME, or claiming one of its addresses, is stale
 * (a restarted pod, a reused address after a missed DEL) and is replaced.
 */
export function upsertEndpoint(state: FirewallState, record: EndpointRecord): { state: FirewallState; replaced: EndpointRecord[] } {
  const addresses = new Set(record.ips);
  const replaced: EndpointRecord[] = [];
  const kept = state.endpoints.filter((existing) => {
    const stale = (existing.namespace === record.namespace && existing.name === record.name) || existing.ips.some((ip) => addresses.has(ip));
    if (stale) replaced.push(existing);
    return !stale;
  });
  return { state: { ...state, endpoints: [...kept, record] }, replaced };
}

/** Removes the endpoint registered by (containerId, ifName); absent is fine (DEL is idempotent). */
export function removeEndpointByOwner(state: FirewallState, containerId: string, ifName: string): { state: FirewallState; removed: EndpointRecord[] } {
  const removed = state.endpoints.filter((record) => record.containerId === containerId && record.ifName === ifName);
  return { state: { ...state, endpoints: state.endpoints.filter((record) => !removed.includes(record)) }, removed };
}

export function removeEndpointByKey(state: FirewallState, key: string): FirewallState {
  const kept = state.endpoints.filter((record) => `${record.namespace}/${record.name}` !== key);
  if (kept.length === state.endpoints.length) throw new FirewallError(FirewallCode.NotFound, `Cannot remove endpoint ${key}: not registered`);
  return { ...state, endpoints: kept };
}

/**
 * CNI GC of one network: drops that network's records whose attachment (`containerId/ifName`) is not in `valid`.
 * Records of other networks, and those registered by hand, stay.
 */
export function collectEndpoints(state: FirewallState, network: string, valid: ReadonlySet<string>): { state: FirewallState; removed: EndpointRecord[] } {
  const removed = state.endpoints.filter((record) =>
    record.network === network && record.containerId !== null && !valid.has(`${record.containerId}/${record.ifName ?? ''}`));
  return { state: { ...state, endpoints: state.endpoints.filter((record) => !removed.includes(record)) }, removed };
}
