/** ObjectMeta as kubectl writes and reads it; only name, namespace, labels and annotations carry meaning here. */
import { fieldPath, invalid, isAbsent, objectAt, stringAt, type RawObject } from './fields.js';
import { isDnsLabel, isDnsSubdomain } from '@berth/cni';
import { parseLabels } from './labels.js';
import type { Labels } from './types.js';

const objectMetaFields = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName', 'finalizers', 'ownerReferences',
  'managedFields', 'selfLink',
] as const;

/** Annotation that puts one policy in monitor mode. */
export const monitorAnnotation = 'berth.dev/monitor';

export interface Metadata {
  readonly name: string;
  readonly namespace: string | null;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
}

function parseAnnotations(value: unknown, path: string): Record<string, string> {
  if (isAbsent(value)) return {};
  if (typeof value !== 'object' || Array.isArray(value)) invalid(path, 'must be a map of strings');
  const annotations: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) annotations[key] = stringAt(raw, fieldPath(path, key));
  return annotations;
}

export function parseMetadata(document: RawObject, options: { namespaced: boolean; nameIsDnsLabel?: boolean }): Metadata {
  const metadata = objectAt(document['metadata'], 'metadata', objectMetaFields);
  const name = stringAt(metadata['name'], 'metadata.name');
  const nameValid = options.nameIsDnsLabel === true ? isDnsLabel(name) : isDnsSubdomain(name);
  if (!nameValid) {
    invalid('metadata.name', `${JSON.stringify(name)} must be a lowercase RFC 1123 ${options.nameIsDnsLabel === true ? 'label' : 'subdomain'}`);
  }
  let namespace: string | null = null;
  if (!isAbsent(metadata['namespace'])) {
    if (!options.namespaced) invalid('metadata.namespace', 'must not be set: this kind is cluster-scoped');
    namespace = stringAt(metadata['namespace'], 'metadata.namespace');
    if (!isDnsLabel(namespace)) invalid('metadata.namespace', `${JSON.stringify(namespace)} must be a lowercase RFC 1123 label`);
  }
  return {
    name,
    namespace,
    labels: parseLabels(metadata['labels'], 'metadata.labels'),
    annotations: parseAnnotations(metadata['annotations'], 'metadata.annotations'),
  };
}

/** `berth.dev/monitor: "true"|"false"` (absent: false). */
export function monitorFlag(metadata: Metadata): boolean {
  const value = metadata.annotations[monitorAnnotation];
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return invalid(`metadata.annotations.${monitorAnnotation}`, `must be "true" or "false", got ${JSON.stringify(value)}`);
}
