/** Feeding a change between two FirewallStates to an incremental compiler loaded with the first, as events. */
import type { FirewallCompiler, FirewallSnapshot } from '../compile/compiler.js';
import type { FirewallState } from './store.js';

export function snapshotOf(state: FirewallState): FirewallSnapshot {
  return { documents: state.documents.map((stored) => stored.document), endpoints: state.endpoints, monitor: state.monitor };
}

/** Documents and endpoints are compared by key; objects the change kept (the same object) are skipped unread. */
export function applyStateChange(compiler: FirewallCompiler, before: FirewallState, after: FirewallState): void {
  const oldDocuments = new Map(before.documents.map((stored) => [stored.key, stored]));
  const newKeys = new Set(after.documents.map((stored) => stored.key));
  const removedDocuments = before.documents.filter((stored) => !newKeys.has(stored.key)).map((stored) => stored.key);
  if (removedDocuments.length > 0) compiler.removeDocuments(removedDocuments);
  const changedDocuments = after.documents.filter((stored) => {
    const old = oldDocuments.get(stored.key);
    return old !== stored && (old === undefined || JSON.stringify(old.raw) !== JSON.stringify(stored.raw));
  });
  if (changedDocuments.length > 0) compiler.applyDocuments(changedDocuments.map((stored) => stored.document));
  if (after.monitor !== before.monitor) compiler.setMonitor(after.monitor);
  const key = (endpoint: { namespace: string; name: string }): string => `${endpoint.namespace}/${endpoint.name}`;
  const oldEndpoints = new Map(before.endpoints.map((endpoint) => [key(endpoint), endpoint]));
  const newEndpointKeys = new Set(after.endpoints.map(key));
  for (const endpoint of before.endpoints) if (!newEndpointKeys.has(key(endpoint))) compiler.removeEndpoint(key(endpoint));
  for (const endpoint of after.endpoints) {
    const old = oldEndpoints.get(key(endpoint));
    if (old !== endpoint && (old === undefined || JSON.stringify(old) !== JSON.stringify(endpoint))) compiler.upsertEndpoint(endpoint);
  }
}
