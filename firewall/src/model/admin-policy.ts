/**
 * policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy, with upstream's field
 * names and limits (priority 0-1000, at most 100 rules per direction, 100 peers and ports per rule, 25
 * networks per peer). `nodes` peers are rejected: Berth has no Node objects to select.
 */
import {
  arrayAt, fieldPath, integerAt, invalid, itemPath, listField, objectAt, oneOf, requiredAt, stringAt, type RawObject,
} from './fields.js';
import { parseSelector } from './labels.js';
import { monitorFlag, parseMetadata } from './metadata.js';
import { parseCidrAt } from './network-policy.js';
import { parseAdminPort } from './ports.js';
import type { AdminAction, AdminNetworkPolicy, AdminPeer, AdminRule, BaselineAdminNetworkPolicy, PodSet } from './types.js';

export const adminApiVersion = 'policy.networking.k8s.io/v1alpha1';

const rulesMax = 100;
const peersMax = 100;
const portsMax = 100;
const networksMax = 25;
const ruleNameLengthMax = 100;

function parseNamespacedPods(value: unknown, path: string): PodSet {
  const object = objectAt(value, path, ['namespaceSelector', 'podSelector']);
  return {
    kind: 'pods',
    namespaceSelector: parseSelector(requiredAt(object, 'namespaceSelector', path), fieldPath(path, 'namespaceSelector')),
    podSelector: parseSelector(requiredAt(object, 'podSelector', path), fieldPath(path, 'podSelector')),
  };
}

function parseSubject(value: unknown, path: string): PodSet {
  const object = objectAt(value, path, ['namespaces', 'pods']);
  const which = oneOf(object, path, ['namespaces', 'pods']);
  if (which === 'namespaces') return { kind: 'namespaces', namespaceSelector: parseSelector(object['namespaces'], fieldPath(path, 'namespaces')) };
  return parseNamespacedPods(object['pods'], fieldPath(path, 'pods'));
}

function parsePeer(value: unknown, path: string, direction: 'ingress' | 'egress'): AdminPeer {
  const keys = direction === 'ingress' ? ['namespaces', 'pods'] : ['namespaces', 'pods', 'nodes', 'networks'];
  const object = objectAt(value, path, keys);
  const which = oneOf(object, path, keys);
  const peerPath = fieldPath(path, which);
  switch (which) {
    case 'namespaces':
      return { kind: 'namespaces', namespaceSelector: parseSelector(object['namespaces'], peerPath) };
    case 'pods':
      return parseNamespacedPods(object['pods'], peerPath);
    case 'networks': {
      const items = arrayAt(object['networks'], peerPath, { min: 1, max: networksMax });
      return { kind: 'networks', networks: items.map((item, index) => parseCidrAt(item, itemPath(peerPath, index))) };
    }
    default:
      return invalid(peerPath, 'node peers are not supported by Berth (it has no Node objects to select)');
  }
}

function parseRule(value: unknown, path: string, options: { direction: 'ingress' | 'egress'; index: number; actions: readonly AdminAction[] }): AdminRule {
  const peerKey = options.direction === 'ingress' ? 'from' : 'to';
  const object = objectAt(value, path, ['name', 'action', peerKey, 'ports']);
  const name = object['name'] === undefined || object['name'] === null ? `${options.direction}[${options.index}]` : stringAt(object['name'], fieldPath(path, 'name'));
  if (name.length > ruleNameLengthMax) invalid(fieldPath(path, 'name'), `must be at most ${ruleNameLengthMax} characters`);
  const action = stringAt(requiredAt(object, 'action', path), fieldPath(path, 'action'));
  if (!options.actions.includes(action as AdminAction)) {
    invalid(fieldPath(path, 'action'), `must be one of ${options.actions.join(', ')}, got ${JSON.stringify(action)}`);
  }
  const peersPath = fieldPath(path, peerKey);
  const peers = arrayAt(requiredAt(object, peerKey, path), peersPath, { min: 1, max: peersMax })
    .map((item, index) => parsePeer(item, itemPath(peersPath, index), options.direction));
  const portsPath = fieldPath(path, 'ports');
  const portItems = listField(object, 'ports', path, { min: 1, max: portsMax });
  const ports = portItems === null ? null : portItems.map((item, index) => parseAdminPort(item, itemPath(portsPath, index)));
  return { name, index: options.index, action: action as AdminAction, peers, ports };
}

function parseRules(spec: RawObject, direction: 'ingress' | 'egress', actions: readonly AdminAction[]): AdminRule[] {
  const path = `spec.${direction}`;
  const items = listField(spec, direction, 'spec', { max: rulesMax }) ?? [];
  return items.map((item, index) => parseRule(item, itemPath(path, index), { direction, index, actions }));
}

function checkTopLevel(document: RawObject): void {
  objectAt(document, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
}

export function parseAdminNetworkPolicy(document: RawObject): AdminNetworkPolicy {
  checkTopLevel(document);
  const metadata = parseMetadata(document, { namespaced: false });
  const spec = objectAt(requiredAt(document, 'spec', ''), 'spec', ['priority', 'subject', 'ingress', 'egress']);
  return {
    kind: 'AdminNetworkPolicy',
    name: metadata.name,
    priority: integerAt(requiredAt(spec, 'priority', 'spec'), 'spec.priority', { min: 0, max: 1000 }),
    subject: parseSubject(requiredAt(spec, 'subject', 'spec'), 'spec.subject'),
    ingress: parseRules(spec, 'ingress', ['Allow', 'Deny', 'Pass']),
    egress: parseRules(spec, 'egress', ['Allow', 'Deny', 'Pass']),
    monitor: monitorFlag(metadata),
  };
}

export function parseBaselineAdminNetworkPolicy(document: RawObject): BaselineAdminNetworkPolicy {
  checkTopLevel(document);
  const metadata = parseMetadata(document, { namespaced: false });
  if (metadata.name !== 'default') invalid('metadata.name', `must be "default": only one BaselineAdminNetworkPolicy exists, got ${JSON.stringify(metadata.name)}`);
  const spec = objectAt(requiredAt(document, 'spec', ''), 'spec', ['subject', 'ingress', 'egress']);
  return {
    kind: 'BaselineAdminNetworkPolicy',
    name: metadata.name,
    subject: parseSubject(requiredAt(spec, 'subject', 'spec'), 'spec.subject'),
    ingress: parseRules(spec, 'ingress', ['Allow', 'Deny']),
    egress: parseRules(spec, 'egress', ['Allow', 'Deny']),
    monitor: monitorFlag(metadata),
  };
}
