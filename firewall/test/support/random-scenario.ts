/**
 * Seeded random policy sets and endpoints, small enough to check exhaustively and rich enough to hit every
 * feature: selectors (labels and expressions), AND/OR peers, ipBlock/except, named ports, endPort, SCTP,
 * policyTypes, admin tiers with Pass, baseline, monitor flags, IPv6 endpoints.
 */
import { parseDocuments } from '../../src/model/documents.js';
import { buildPolicySet } from '../../src/model/policy-set.js';
import type { Endpoint, Namespace, PolicySet } from '../../src/model/types.js';

/** mulberry32: a tiny seeded PRNG so any failing run can be replayed from its seed. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export class Picker {
  readonly #random: () => number;
  constructor(seed: number) {
    this.#random = createRandom(seed);
  }
  chance(probability: number): boolean {
    return this.#random() < probability;
  }
  int(low: number, high: number): number {
    return low + Math.floor(this.#random() * (high - low + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  some<T>(items: readonly T[], max: number): T[] {
    return Array.from({ length: this.int(0, max) }, () => this.pick(items));
  }
}

export const namespaceNames = ['x', 'y', 'z'] as const;
const podLabelValues = ['a', 'b', 'c'];
const portNames = ['http', 'dns'];
export const interestingPorts = [0, 79, 80, 81, 82, 53, 443, 1000, 65535];

type Raw = Record<string, unknown>;

function selector(pick: Picker, key: string, values: readonly string[]): Raw {
  const result: Raw = {};
  if (pick.chance(0.5)) result['matchLabels'] = { [key]: pick.pick(values) };
  if (pick.chance(0.35)) {
    const operator = pick.pick(['In', 'NotIn', 'Exists', 'DoesNotExist']);
    const expression: Raw = { key: pick.chance(0.8) ? key : 'tier', operator };
    if (operator === 'In' || operator === 'NotIn') expression['values'] = [pick.pick(values), pick.pick(values)];
    result['matchExpressions'] = [expression];
  }
  return result;
}

const podSelector = (pick: Picker): Raw => selector(pick, 'pod', podLabelValues);
const namespaceSelector = (pick: Picker): Raw => selector(pick, 'ns', namespaceNames);

function cidrPeer(pick: Picker, v6: boolean): Raw {
  if (v6) return { cidr: pick.pick(['fd00::/64', 'fd00::/120', 'fd00::10/124']) };
  const cidr = pick.pick(['10.9.0.0/16', '10.9.1.0/24', '10.9.0.0/23', '0.0.0.0/0', '10.9.2.8/29']);
  const except = cidr === '10.9.0.0/16' && pick.chance(0.5) ? ['10.9.1.0/25'] : cidr === '0.0.0.0/0' && pick.chance(0.5) ? ['10.9.2.0/24'] : [];
  return except.length > 0 ? { cidr, except } : { cidr };
}

function npPort(pick: Picker): Raw {
  const protocol = pick.pick(['TCP', 'UDP', 'SCTP', undefined]);
  const base: Raw = protocol === undefined ? {} : { protocol };
  const kind = pick.int(0, 3);
  if (kind === 0) return base;
  if (kind === 1) return { ...base, port: pick.pick([53, 80, 81, 443]) };
  if (kind === 2) return { ...base, port: 80, endPort: pick.pick([80, 81, 1000]) };
  return { ...base, port: pick.pick(portNames) };
}

function npPeer(pick: Picker): Raw {
  const kind = pick.int(0, 3);
  if (kind === 0) return { podSelector: podSelector(pick) };
  if (kind === 1) return { namespaceSelector: namespaceSelector(pick) };
  if (kind === 2) return { podSelector: podSelector(pick), namespaceSelector: namespaceSelector(pick) };
  return { ipBlock: cidrPeer(pick, pick.chance(0.2)) };
}

function npRule(pick: Picker, peerKey: 'from' | 'to'): Raw {
  const rule: Raw = {};
  if (pick.chance(0.75)) rule[peerKey] = Array.from({ length: pick.int(1, 2) }, () => npPeer(pick));
  if (pick.chance(0.6)) rule['ports'] = Array.from({ length: pick.int(1, 2) }, () => npPort(pick));
  return rule;
}

function monitorMeta(pick: Picker, meta: Raw): Raw {
  return pick.chance(0.15) ? { ...meta, annotations: { 'berth.dev/monitor': 'true' } } : meta;
}

function networkPolicy(pick: Picker, index: number): Raw {
  const spec: Raw = { podSelector: pick.chance(0.3) ? {} : podSelector(pick) };
  if (pick.chance(0.8)) spec['ingress'] = Array.from({ length: pick.int(0, 2) }, () => npRule(pick, 'from'));
  if (pick.chance(0.5)) spec['egress'] = Array.from({ length: pick.int(0, 2) }, () => npRule(pick, 'to'));
  if (pick.chance(0.3)) spec['policyTypes'] = pick.pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: monitorMeta(pick, { name: `np${index}`, namespace: pick.pick(namespaceNames) }), spec,
  };
}

function podSet(pick: Picker): Raw {
  return pick.chance(0.5) ? { namespaces: namespaceSelector(pick) } : { pods: { namespaceSelector: namespaceSelector(pick), podSelector: podSelector(pick) } };
}

function adminPort(pick: Picker): Raw {
  const kind = pick.int(0, 2);
  if (kind === 0) return { portNumber: { protocol: pick.pick(['TCP', 'UDP']), port: pick.pick([80, 81, 53]) } };
  if (kind === 1) return { namedPort: pick.pick(portNames) };
  return { portRange: { protocol: pick.pick(['TCP', 'UDP', 'SCTP']), start: 80, end: pick.pick([81, 443]) } };
}

function adminRule(pick: Picker, direction: 'ingress' | 'egress', actions: readonly string[]): Raw {
  const peers = Array.from({ length: pick.int(1, 2) }, () =>
    direction === 'egress' && pick.chance(0.25) ? { networks: [cidrPeer(pick, false)['cidr']] } : podSet(pick));
  const rule: Raw = { action: pick.pick(actions), [direction === 'ingress' ? 'from' : 'to']: peers };
  if (pick.chance(0.5)) rule['ports'] = Array.from({ length: pick.int(1, 2) }, () => adminPort(pick));
  return rule;
}

function adminSpec(pick: Picker, actions: readonly string[]): Raw {
  const spec: Raw = { subject: podSet(pick) };
  if (pick.chance(0.8)) spec['ingress'] = Array.from({ length: pick.int(1, 2) }, () => adminRule(pick, 'ingress', actions));
  if (pick.chance(0.5)) spec['egress'] = Array.from({ length: pick.int(1, 2) }, () => adminRule(pick, 'egress', actions));
  return spec;
}

export interface Scenario {
  readonly policies: PolicySet;
  readonly namespaces: readonly Namespace[];
  readonly endpoints: readonly Endpoint[];
  readonly documents: readonly Raw[];
}

export function randomEndpoints(pick: Picker): Endpoint[] {
  const endpoints: Endpoint[] = [];
  let host = 2;
  for (const namespace of namespaceNames) {
    for (const pod of podLabelValues) {
      if (pick.chance(0.2)) continue;
      host += pick.int(1, 3);
      const ips = [`10.9.${pick.chance(0.2) ? 1 : 0}.${host}`];
      if (pick.chance(0.2)) ips.push(`fd00::${host.toString(16)}`);
      const labels: Record<string, string> = { pod };
      if (pick.chance(0.3)) labels['tier'] = pick.pick(['a', 'b']);
      endpoints.push({
        namespace, name: pod, labels, ips, interface: `veth${namespace}${pod}`,
        namedPorts: pick.some([
          { name: 'http', port: 80, protocol: 'TCP' as const }, { name: 'http', port: 81, protocol: 'TCP' as const },
          { name: 'dns', port: 53, protocol: 'UDP' as const },
        ], 2).filter((port, index, all) => all.findIndex((other) => other.name === port.name && other.protocol === port.protocol) === index),
      });
    }
  }
  return endpoints;
}

export function randomScenario(seed: number): Scenario {
  const pick = new Picker(seed);
  const documents: Raw[] = namespaceNames.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ns: name } } }));
  for (let index = 0; index < pick.int(0, 4); index += 1) documents.push(networkPolicy(pick, index));
  for (let index = 0; index < pick.int(0, 2); index += 1) {
    documents.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy',
      metadata: monitorMeta(pick, { name: `anp${index}` }), spec: { priority: pick.int(0, 3), ...adminSpec(pick, ['Allow', 'Deny', 'Pass']) },
    });
  }
  if (pick.chance(0.4)) {
    documents.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy',
      metadata: monitorMeta(pick, { name: 'default' }), spec: adminSpec(pick, ['Allow', 'Deny']),
    });
  }
  const parsed = parseDocuments(documents.map((document) => JSON.stringify(document)).join('\n---\n'));
  const { policies, namespaces } = buildPolicySet(parsed.map((item) => item.document), { monitor: pick.chance(0.1) });
  return { policies, namespaces, endpoints: randomEndpoints(pick), documents };
}
