/** networking.k8s.io/v1 NetworkPolicy: validation as the API server does it, plus policyTypes defaulting. */
import { parseCidr, type Cidr } from './address.js';
import {
  arrayAt, fieldPath, invalid, isAbsent, itemPath, listField, objectAt, requiredAt, stringAt, type RawObject,
} from './fields.js';
import { parseSelector } from './labels.js';
import { monitorFlag, parseMetadata } from './metadata.js';
import { parseNetworkPolicyPort } from './ports.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule } from './types.js';

export function parseCidrAt(value: unknown, path: string): Cidr {
  const text = stringAt(value, path);
  const cidr = parseCidr(text);
  if (cidr === null) invalid(path, `${JSON.stringify(text)} is not a valid CIDR (e.g. 10.0.0.0/16 or fd00::/64)`);
  return cidr;
}

function parseIpBlock(value: unknown, path: string): NetworkPolicyPeer {
  const object = objectAt(value, path, ['cidr', 'except']);
  const cidr = parseCidrAt(requiredAt(object, 'cidr', path), fieldPath(path, 'cidr'));
  const exceptPath = fieldPath(path, 'except');
  const except = (listField(object, 'except', path) ?? []).map((item, index) => {
    const inner = parseCidrAt(item, itemPath(exceptPath, index));
    const strictSubset = inner.family === cidr.family && inner.prefixLength > cidr.prefixLength
      && inner.low >= cidr.low && inner.high <= cidr.high;
    if (!strictSubset) invalid(itemPath(exceptPath, index), `${inner.text} must be a strict subset of cidr ${cidr.text}`);
    return inner;
  });
  return { kind: 'ipBlock', cidr, except };
}

function parsePeer(value: unknown, path: string): NetworkPolicyPeer {
  const object = objectAt(value, path, ['podSelector', 'namespaceSelector', 'ipBlock']);
  const hasPods = !isAbsent(object['podSelector']);
  const hasNamespaces = !isAbsent(object['namespaceSelector']);
  if (!isAbsent(object['ipBlock'])) {
    if (hasPods || hasNamespaces) invalid(path, 'may not specify both ipBlock and podSelector/namespaceSelector');
    return parseIpBlock(object['ipBlock'], fieldPath(path, 'ipBlock'));
  }
  if (!hasPods && !hasNamespaces) invalid(path, 'must specify a peer: podSelector, namespaceSelector or ipBlock');
  return {
    kind: 'selector',
    podSelector: hasPods ? parseSelector(object['podSelector'], fieldPath(path, 'podSelector')) : null,
    namespaceSelector: hasNamespaces ? parseSelector(object['namespaceSelector'], fieldPath(path, 'namespaceSelector')) : null,
  };
}

function parseRule(value: unknown, path: string, peerKey: 'from' | 'to'): NetworkPolicyRule {
  const object = objectAt(value ?? {}, path, [peerKey, 'ports']);
  const peerPath = fieldPath(path, peerKey);
  const portsPath = fieldPath(path, 'ports');
  const peers = listField(object, peerKey, path)?.map((item, index) => parsePeer(item, itemPath(peerPath, index))) ?? [];
  const ports = listField(object, 'ports', path)?.map((item, index) => parseNetworkPolicyPort(item, itemPath(portsPath, index))) ?? [];
  // An empty or missing list matches everything, as the API documents for both fields.
  return { peers: peers.length === 0 ? null : peers, ports: ports.length === 0 ? null : ports };
}

function parsePolicyTypes(spec: RawObject): { ingress: boolean; egress: boolean } {
  const types = listField(spec, 'policyTypes', 'spec', { max: 2 });
  if (types === null || types.length === 0) {
    // Defaulting: Ingress always; Egress when the policy has an egress section.
    return { ingress: true, egress: !isAbsent(spec['egress']) };
  }
  const result = { ingress: false, egress: false };
  types.forEach((item, index) => {
    const text = stringAt(item, itemPath('spec.policyTypes', index));
    if (text === 'Ingress') result.ingress = true;
    else if (text === 'Egress') result.egress = true;
    else invalid(itemPath('spec.policyTypes', index), `must be "Ingress" or "Egress", got ${JSON.stringify(text)}`);
  });
  return result;
}

export function parseNetworkPolicy(document: RawObject, defaultNamespace: string): NetworkPolicy {
  objectAt(document, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = parseMetadata(document, { namespaced: true });
  const spec = objectAt(requiredAt(document, 'spec', ''), 'spec', ['podSelector', 'policyTypes', 'ingress', 'egress']);
  const podSelector = parseSelector(requiredAt(spec, 'podSelector', 'spec'), 'spec.podSelector');
  const policyTypes = parsePolicyTypes(spec);
  const rules = (key: 'ingress' | 'egress', peerKey: 'from' | 'to'): NetworkPolicyRule[] => {
    const items = isAbsent(spec[key]) ? [] : arrayAt(spec[key], `spec.${key}`);
    return items.map((item, index) => parseRule(item, itemPath(`spec.${key}`, index), peerKey));
  };
  return {
    kind: 'NetworkPolicy',
    namespace: metadata.namespace ?? defaultNamespace,
    name: metadata.name,
    podSelector,
    policyTypes,
    ingress: rules('ingress', 'from'),
    egress: rules('egress', 'to'),
    monitor: monitorFlag(metadata),
  };
}
