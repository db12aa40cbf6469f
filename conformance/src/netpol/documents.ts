/** The document shapes the truth-table cases write (a typed subset of the Kubernetes APIs), and builders. */

export interface Selector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; readonly values?: readonly string[] }[];
}

export interface NetpolPeer {
  readonly podSelector?: Selector;
  readonly namespaceSelector?: Selector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

export interface NetpolPort {
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface NetpolRule {
  readonly from?: readonly NetpolPeer[];
  readonly to?: readonly NetpolPeer[];
  readonly ports?: readonly NetpolPort[];
}

interface Meta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface NetpolDocument {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: Meta & { readonly namespace: string };
  readonly spec: {
    readonly podSelector: Selector;
    readonly policyTypes?: readonly ('Ingress' | 'Egress')[];
    readonly ingress?: readonly NetpolRule[];
    readonly egress?: readonly NetpolRule[];
  };
}

export interface PodSet {
  readonly namespaces?: Selector;
  readonly pods?: { readonly namespaceSelector: Selector; readonly podSelector: Selector };
}

export interface AnpPeer extends PodSet {
  readonly networks?: readonly string[];
}

export interface AnpPort {
  readonly portNumber?: { readonly protocol: 'TCP' | 'UDP'; readonly port: number };
  readonly namedPort?: string;
  readonly portRange?: { readonly protocol?: 'TCP' | 'UDP'; readonly start: number; readonly end: number };
}

export interface AnpRule {
  readonly name?: string;
  readonly action: 'Allow' | 'Deny' | 'Pass';
  readonly from?: readonly AnpPeer[];
  readonly to?: readonly AnpPeer[];
  readonly ports?: readonly AnpPort[];
}

export interface AnpDocument {
  readonly apiVersion: 'policy.networking.k8s.io/v1alpha1';
  readonly kind: 'AdminNetworkPolicy';
  readonly metadata: Meta;
  readonly spec: { readonly priority: number; readonly subject: PodSet; readonly ingress?: readonly AnpRule[]; readonly egress?: readonly AnpRule[] };
}

export interface BanpDocument {
  readonly apiVersion: 'policy.networking.k8s.io/v1alpha1';
  readonly kind: 'BaselineAdminNetworkPolicy';
  readonly metadata: Meta;
  readonly spec: { readonly subject: PodSet; readonly ingress?: readonly AnpRule[]; readonly egress?: readonly AnpRule[] };
}

export interface NamespaceDocument {
  readonly apiVersion: 'v1';
  readonly kind: 'Namespace';
  readonly metadata: Meta;
}

export type PolicyDocument = NetpolDocument | AnpDocument | BanpDocument | NamespaceDocument;

export function netpol(namespace: string, name: string, spec: NetpolDocument['spec'], annotations?: Record<string, string>): NetpolDocument {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace, ...(annotations === undefined ? {} : { annotations }) }, spec };
}

export function anp(name: string, spec: AnpDocument['spec']): AnpDocument {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec };
}

export function banp(spec: BanpDocument['spec']): BanpDocument {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'default' }, spec };
}

export function namespaceDocument(name: string, labels: Record<string, string>): NamespaceDocument {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** The key Berth stores a document under (for removal). */
export function documentKeyOf(document: PolicyDocument): string {
  return document.kind === 'NetworkPolicy' ? `NetworkPolicy/${document.metadata.namespace}/${document.metadata.name}` : `${document.kind}/${document.metadata.name}`;
}

export const pod = (name: string): Selector => ({ matchLabels: { pod: name } });
export const ns = (name: string): Selector => ({ matchLabels: { ns: name } });
export const all: Selector = {};
