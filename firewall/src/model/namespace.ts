/** v1 Namespace documents: only their labels matter to policy, plus the automatic metadata-name label. */
import { objectAt, type RawObject } from './fields.js';
import { parseMetadata } from './metadata.js';
import { metadataNameLabel, type Namespace } from './types.js';

export function parseNamespace(document: RawObject): Namespace {
  objectAt(document, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = parseMetadata(document, { namespaced: false, nameIsDnsLabel: true });
  return namespaceOf(metadata.name, metadata.labels);
}

/** A namespace value; `kubernetes.io/metadata.name` always equals the name, as the API server enforces. */
export function namespaceOf(name: string, labels: Readonly<Record<string, string>> = {}): Namespace {
  return { kind: 'Namespace', name, labels: { ...labels, [metadataNameLabel]: name } };
}
