/** Assembling documents into a PolicySet, and the stable keys documents are stored and removed by. */
import type { Namespace, PolicyDocument, PolicySet } from './types.js';

/** `NetworkPolicy/NS/NAME`, `AdminNetworkPolicy/NAME`, `BaselineAdminNetworkPolicy/default`, `Namespace/NAME`. */
export function documentKey(document: PolicyDocument): string {
  return document.kind === 'NetworkPolicy' ? `NetworkPolicy/${document.namespace}/${document.name}` : `${document.kind}/${document.name}`;
}

/** Later documents with the same key replace earlier ones, as successive `kubectl apply` calls would. */
export function buildPolicySet(documents: readonly PolicyDocument[], options: { monitor?: boolean } = {}): { policies: PolicySet; namespaces: Namespace[] } {
  const latest = new Map<string, PolicyDocument>();
  for (const document of documents) latest.set(documentKey(document), document);
  const all = [...latest.values()];
  const baselines = all.filter((document) => document.kind === 'BaselineAdminNetworkPolicy');
  return {
    policies: {
      networkPolicies: all.filter((document) => document.kind === 'NetworkPolicy'),
      adminPolicies: all.filter((document) => document.kind === 'AdminNetworkPolicy'),
      baseline: baselines[baselines.length - 1] ?? null,
      monitor: options.monitor ?? false,
    },
    namespaces: all.filter((document) => document.kind === 'Namespace'),
  };
}
