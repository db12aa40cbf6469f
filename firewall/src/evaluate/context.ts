/**
 * Indexes built once per (policies, namespaces, endpoints) state, and the rules that apply to one endpoint in
 * one direction, in precedence order. Both the evaluator and the compiler start from `applicableRules`.
 */
import { FirewallCode, FirewallError } from '../errors.js';
import { parseAddress, type Address } from '../model/address.js';
import { namespaceOf } from '../model/namespace.js';
import type {
  AdminNetworkPolicy, AdminRule, BaselineAdminNetworkPolicy, Endpoint, Labels, Namespace, NetworkPolicy, PolicySet,
} from '../model/types.js';
import { podSetSelects, type NamespaceLabels } from './match.js';
import { selectorMatches } from '../model/labels.js';

export type Direction = 'ingress' | 'egress';

export interface EvaluationContext {
  readonly policies: PolicySet;
  readonly endpoints: readonly Endpoint[];
  readonly namespaceLabels: NamespaceLabels;
  /** `family:value` → endpoint. */
  readonly endpointByAddress: ReadonlyMap<string, Endpoint>;
  readonly endpointByKey: ReadonlyMap<string, Endpoint>;
  /** Admin policies by ascending priority (higher precedence first), ties broken by name. */
  readonly adminPolicies: readonly AdminNetworkPolicy[];
  readonly networkPoliciesByNamespace: ReadonlyMap<string, readonly NetworkPolicy[]>;
  /** Per namespace, its NetworkPolicies by one `key=value` of their podSelector's matchLabels (see selectingCandidates). */
  readonly networkPolicyIndex: ReadonlyMap<string, NetworkPolicyIndex>;
}

/**
 * A namespace's NetworkPolicies indexed for "which select this pod": a policy whose podSelector has matchLabels
 * can only select pods carrying its first (sorted) label, so it is filed under that label; others are scanned.
 */
export interface NetworkPolicyIndex {
  readonly byLabel: ReadonlyMap<string, readonly NetworkPolicy[]>;
  readonly scanned: readonly NetworkPolicy[];
  /** Position in the namespace's list: candidates are returned in list order. */
  readonly position: ReadonlyMap<NetworkPolicy, number>;
}

const labelKey = (key: string, value: string): string => `${key}\u0000${value}`;

function indexNetworkPolicies(policies: readonly NetworkPolicy[]): NetworkPolicyIndex {
  const byLabel = new Map<string, NetworkPolicy[]>();
  const scanned: NetworkPolicy[] = [];
  for (const policy of policies) {
    let first: string | undefined;
    for (const key in policy.podSelector.matchLabels) if (first === undefined || key < first) first = key;
    if (first === undefined) {
      scanned.push(policy);
      continue;
    }
    const key = labelKey(first, policy.podSelector.matchLabels[first] as string);
    const list = byLabel.get(key) ?? [];
    list.push(policy);
    byLabel.set(key, list);
  }
  return { byLabel, scanned, position: new Map(policies.map((policy, index) => [policy, index])) };
}

/** The namespace's NetworkPolicies that may select a pod with these labels (a superset), in list order. */
function selectingCandidates(index: NetworkPolicyIndex | undefined, labels: Labels): readonly NetworkPolicy[] {
  if (index === undefined) return [];
  const found = [...index.scanned];
  for (const [key, value] of Object.entries(labels)) found.push(...(index.byLabel.get(labelKey(key, value)) ?? []));
  return found.length <= 1 ? found : found.sort((a, b) => (index.position.get(a) ?? 0) - (index.position.get(b) ?? 0));
}

export function addressKey(address: Address): string {
  return `${address.family}:${address.value.toString(16)}`;
}

export function buildContext(policies: PolicySet, namespaces: readonly Namespace[], endpoints: readonly Endpoint[]): EvaluationContext {
  const labelsByNamespace = new Map<string, Labels>(namespaces.map((namespace) => [namespace.name, namespaceOf(namespace.name, namespace.labels).labels]));
  const namespaceLabels = (name: string): Labels => {
    let labels = labelsByNamespace.get(name);
    if (labels === undefined) {
      // A namespace nobody described still has its automatic metadata-name label.
      labels = namespaceOf(name).labels;
      labelsByNamespace.set(name, labels);
    }
    return labels;
  };
  const endpointByAddress = new Map<string, Endpoint>();
  const endpointByKey = new Map<string, Endpoint>();
  for (const endpoint of endpoints) {
    endpointByKey.set(`${endpoint.namespace}/${endpoint.name}`, endpoint);
    for (const ip of endpoint.ips) {
      const address = parseAddress(ip);
      if (address === null) throw new FirewallError(FirewallCode.InvalidDocument, `endpoint ${endpoint.namespace}/${endpoint.name}: invalid address ${ip}`);
      const key = addressKey(address);
      const owner = endpointByAddress.get(key);
      if (owner !== undefined && owner !== endpoint) {
        throw new FirewallError(FirewallCode.InvalidDocument,
          `endpoints ${owner.namespace}/${owner.name} and ${endpoint.namespace}/${endpoint.name} both claim address ${ip}`);
      }
      endpointByAddress.set(key, endpoint);
    }
  }
  const networkPoliciesByNamespace = new Map<string, NetworkPolicy[]>();
  for (const policy of policies.networkPolicies) {
    const list = networkPoliciesByNamespace.get(policy.namespace) ?? [];
    list.push(policy);
    networkPoliciesByNamespace.set(policy.namespace, list);
  }
  const networkPolicyIndex = new Map([...networkPoliciesByNamespace].map(([namespace, list]) => [namespace, indexNetworkPolicies(list)]));
  const adminPolicies = [...policies.adminPolicies].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { policies, endpoints, namespaceLabels, endpointByAddress, endpointByKey, adminPolicies, networkPoliciesByNamespace, networkPolicyIndex };
}

export interface AdminRuleRef {
  readonly policy: AdminNetworkPolicy;
  readonly rule: AdminRule;
}

export interface BaselineRuleRef {
  readonly policy: BaselineAdminNetworkPolicy;
  readonly rule: AdminRule;
}

/** Everything that can decide traffic of `subject` in `direction`, in evaluation order. */
export interface ApplicableRules {
  readonly direction: Direction;
  readonly subject: Endpoint;
  readonly admin: readonly AdminRuleRef[];
  /** NetworkPolicies selecting the subject for this direction: non-empty means isolated. */
  readonly networkPolicies: readonly NetworkPolicy[];
  readonly baseline: readonly BaselineRuleRef[];
}

export function applicableRules(context: EvaluationContext, direction: Direction, subject: Endpoint): ApplicableRules {
  const admin: AdminRuleRef[] = [];
  for (const policy of context.adminPolicies) {
    if (!podSetSelects(policy.subject, subject, context.namespaceLabels)) continue;
    for (const rule of policy[direction]) admin.push({ policy, rule });
  }
  const networkPolicies = selectingCandidates(context.networkPolicyIndex.get(subject.namespace), subject.labels).filter((policy) =>
    (direction === 'ingress' ? policy.policyTypes.ingress : policy.policyTypes.egress)
    && selectorMatches(policy.podSelector, subject.labels));
  const baselinePolicy = context.policies.baseline;
  const baseline = baselinePolicy !== null && podSetSelects(baselinePolicy.subject, subject, context.namespaceLabels)
    ? baselinePolicy[direction].map((rule) => ({ policy: baselinePolicy, rule }))
    : [];
  return { direction, subject, admin, networkPolicies, baseline };
}

export function isUnconstrained(rules: ApplicableRules): boolean {
  return rules.admin.length === 0 && rules.networkPolicies.length === 0 && rules.baseline.length === 0;
}
