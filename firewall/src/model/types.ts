/**
 * The validated policy model. Parsers in this directory turn user documents (kubectl-style YAML/JSON) into
 * these immutable values; the evaluator and the compiler only ever see this form.
 */
import type { Cidr } from './address.js';

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** metav1.LabelSelector: all of matchLabels AND all of matchExpressions; empty selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers of the protocols that have ports. */
export const protocolNumber: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/**
 * One entry of a rule's port list. `all`: every port of a protocol (NetworkPolicy port with only a protocol);
 * `range`: numeric port or port..endPort; `named`: a container port name resolved on the destination
 * endpoint (protocol null: any protocol with that name, as AdminNetworkPolicy's namedPort).
 */
export type PortMatch =
  | { readonly kind: 'all'; readonly protocol: Protocol }
  | { readonly kind: 'range'; readonly protocol: Protocol; readonly start: number; readonly end: number }
  | { readonly kind: 'named'; readonly protocol: Protocol | null; readonly name: string };

/** NetworkPolicyPeer after validation: either selectors or an ipBlock, never both. */
export type NetworkPolicyPeer =
  | {
      readonly kind: 'selector';
      /** null: any pod (only namespaceSelector given). */
      readonly podSelector: LabelSelector | null;
      /** null: the policy's own namespace (only podSelector given). */
      readonly namespaceSelector: LabelSelector | null;
    }
  | { readonly kind: 'ipBlock'; readonly cidr: Cidr; readonly except: readonly Cidr[] };

/** One ingress or egress rule; null peers or ports mean "all" (the field was absent or empty). */
export interface NetworkPolicyRule {
  readonly peers: readonly NetworkPolicyPeer[] | null;
  readonly ports: readonly PortMatch[] | null;
}

export interface NetworkPolicy {
  readonly kind: 'NetworkPolicy';
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** After defaulting: Ingress always, Egress when `egress` is present (unless policyTypes says otherwise). */
  readonly policyTypes: { readonly ingress: boolean; readonly egress: boolean };
  readonly ingress: readonly NetworkPolicyRule[];
  readonly egress: readonly NetworkPolicyRule[];
  /** Berth annotation `berth.dev/monitor: "true"`: would-be drops are counted and logged, not dropped. */
  readonly monitor: boolean;
}

export type AdminAction = 'Allow' | 'Deny' | 'Pass';

/** AdminNetworkPolicySubject / peer selection of pods: namespaces only, or namespaces AND pods. */
export type PodSet =
  | { readonly kind: 'namespaces'; readonly namespaceSelector: LabelSelector }
  | { readonly kind: 'pods'; readonly namespaceSelector: LabelSelector; readonly podSelector: LabelSelector };

export type AdminPeer = PodSet | { readonly kind: 'networks'; readonly networks: readonly Cidr[] };

export interface AdminRule {
  /** The rule's `name`, or `ingress[N]`/`egress[N]` when it has none. */
  readonly name: string;
  readonly index: number;
  readonly action: AdminAction;
  readonly peers: readonly AdminPeer[];
  readonly ports: readonly PortMatch[] | null;
}

export interface AdminNetworkPolicy {
  readonly kind: 'AdminNetworkPolicy';
  readonly name: string;
  readonly priority: number;
  readonly subject: PodSet;
  readonly ingress: readonly AdminRule[];
  readonly egress: readonly AdminRule[];
  readonly monitor: boolean;
}

export interface BaselineAdminNetworkPolicy {
  readonly kind: 'BaselineAdminNetworkPolicy';
  /** Always `default`: the API allows exactly one. */
  readonly name: string;
  readonly subject: PodSet;
  /** Actions are Allow or Deny only. */
  readonly ingress: readonly AdminRule[];
  readonly egress: readonly AdminRule[];
  readonly monitor: boolean;
}

export interface Namespace {
  readonly kind: 'Namespace';
  readonly name: string;
  /** Includes `kubernetes.io/metadata.name: <name>`, set automatically. */
  readonly labels: Labels;
}

export type PolicyDocument = NetworkPolicy | AdminNetworkPolicy | BaselineAdminNetworkPolicy | Namespace;

/** Everything the firewall decides with, apart from endpoints. */
export interface PolicySet {
  readonly networkPolicies: readonly NetworkPolicy[];
  readonly adminPolicies: readonly AdminNetworkPolicy[];
  readonly baseline: BaselineAdminNetworkPolicy | null;
  /** Global monitor mode: every would-be drop is counted and logged, then accepted. */
  readonly monitor: boolean;
}

export interface NamedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A container's network attachment, as registered by the CNI plugin or the OCI hook. */
export interface Endpoint {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** Canonical address text, without prefix length. */
  readonly ips: readonly string[];
  /** The host-side interface (or the container interface name when unknown). */
  readonly interface: string;
  readonly namedPorts: readonly NamedPort[];
}

export const metadataNameLabel = 'kubernetes.io/metadata.name';

export const emptySelector: LabelSelector = { matchLabels: {}, matchExpressions: [] };

export function emptyPolicySet(): PolicySet {
  return { networkPolicies: [], adminPolicies: [], baseline: null, monitor: false };
}
