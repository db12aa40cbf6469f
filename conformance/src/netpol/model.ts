/**
 * The truth-table suite's own model of the expected verdicts, written from the Kubernetes NetworkPolicy and
 * AdminNetworkPolicy API documentation, independently of Berth's evaluator and compiler (it shares no code
 * with @berth/firewall). It reads the same documents the suite applies and answers, for one flow between two
 * pods, whether the connection should succeed. IPv4 and the features the cases use only.
 */
import type {
  AnpDocument, AnpPeer, AnpPort, AnpRule, BanpDocument, NetpolDocument, NetpolPeer, NetpolPort, PolicyDocument, Selector,
} from './documents.js';

export interface ModelPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly namedPorts: readonly { readonly name: string; readonly port: number; readonly protocol: 'TCP' | 'UDP' }[];
}

export interface ModelFlow {
  readonly from: ModelPod;
  readonly to: ModelPod;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

export interface ModelWorld {
  readonly documents: readonly PolicyDocument[];
  readonly pods: readonly ModelPod[];
  readonly globalMonitor: boolean;
}

type Outcome = 'allow' | 'deny' | 'pass' | 'none';

function labelsMatch(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  const plain = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressions = (selector.matchExpressions ?? []).every((expression) => {
    const has = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const value = labels[expression.key];
    if (expression.operator === 'Exists') return has;
    if (expression.operator === 'DoesNotExist') return !has;
    const listed = has && (expression.values ?? []).includes(value as string);
    return expression.operator === 'In' ? listed : !listed;
  });
  return plain && expressions;
}

function namespaceLabels(world: ModelWorld, namespace: string): Record<string, string> {
  const document = world.documents.find((item) => item.kind === 'Namespace' && item.metadata.name === namespace);
  const labels = document?.kind === 'Namespace' ? document.metadata.labels ?? {} : {};
  return { ...labels, 'kubernetes.io/metadata.name': namespace };
}

function ipv4(text: string): number {
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(base as string) / size) * size;
  return ipv4(ip) >= start && ipv4(ip) < start + size;
}

function isMonitor(document: { metadata: { annotations?: Readonly<Record<string, string>> } }): boolean {
  return document.metadata.annotations?.['berth.dev/monitor'] === 'true';
}

/** The named port resolves on the destination pod of the flow (for ingress and egress alike). */
function netpolPortMatches(port: NetpolPort, flow: ModelFlow): boolean {
  if ((port.protocol ?? 'TCP') !== flow.protocol) return false;
  if (port.port === undefined) return true;
  if (typeof port.port === 'string') return flow.to.namedPorts.some((named) => named.name === port.port && named.protocol === flow.protocol && named.port === flow.port);
  return flow.port >= port.port && flow.port <= (port.endPort ?? port.port);
}

function netpolPeerMatches(world: ModelWorld, peer: NetpolPeer, other: ModelPod, policyNamespace: string): boolean {
  if (peer.ipBlock !== undefined) return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(other.ip, cidr));
  const namespaceOk = peer.namespaceSelector === undefined
    ? other.namespace === policyNamespace
    : labelsMatch(peer.namespaceSelector, namespaceLabels(world, other.namespace));
  return namespaceOk && (peer.podSelector === undefined || labelsMatch(peer.podSelector, other.labels));
}

function anpPortMatches(port: AnpPort, flow: ModelFlow): boolean {
  if (port.portNumber !== undefined) return port.portNumber.protocol === flow.protocol && port.portNumber.port === flow.port;
  if (port.portRange !== undefined) return (port.portRange.protocol ?? 'TCP') === flow.protocol && flow.port >= port.portRange.start && flow.port <= port.portRange.end;
  return flow.to.namedPorts.some((named) => named.name === port.namedPort && named.protocol === flow.protocol && named.port === flow.port);
}

function anpPeerMatches(world: ModelWorld, peer: AnpPeer, other: ModelPod): boolean {
  if (peer.networks !== undefined) return peer.networks.some((cidr) => inCidr(other.ip, cidr));
  if (peer.namespaces !== undefined) return labelsMatch(peer.namespaces, namespaceLabels(world, other.namespace));
  const pods = peer.pods;
  return pods !== undefined && labelsMatch(pods.namespaceSelector, namespaceLabels(world, other.namespace)) && labelsMatch(pods.podSelector, other.labels);
}

function subjectSelects(world: ModelWorld, document: AnpDocument | BanpDocument, pod: ModelPod): boolean {
  const subject = document.spec.subject;
  if (subject.namespaces !== undefined) return labelsMatch(subject.namespaces, namespaceLabels(world, pod.namespace));
  const pods = subject.pods;
  return pods !== undefined && labelsMatch(pods.namespaceSelector, namespaceLabels(world, pod.namespace)) && labelsMatch(pods.podSelector, pod.labels);
}

/** First matching rule of one admin policy for the subject in this direction. */
function firstRule(world: ModelWorld, rules: readonly AnpRule[], other: ModelPod, flow: ModelFlow, direction: 'ingress' | 'egress'): AnpRule | undefined {
  return rules.find((rule) => {
    const peers = (direction === 'ingress' ? rule.from : rule.to) ?? [];
    return peers.some((peer) => anpPeerMatches(world, peer, other)) && (rule.ports === undefined || rule.ports.some((port) => anpPortMatches(port, flow)));
  });
}

function adminTier(world: ModelWorld, subject: ModelPod, other: ModelPod, flow: ModelFlow, direction: 'ingress' | 'egress'): Outcome {
  const policies = world.documents.filter((document): document is AnpDocument => document.kind === 'AdminNetworkPolicy')
    .filter((document) => subjectSelects(world, document, subject))
    .sort((a, b) => a.spec.priority - b.spec.priority || a.metadata.name.localeCompare(b.metadata.name));
  for (const policy of policies) {
    const rule = firstRule(world, policy.spec[direction] ?? [], other, flow, direction);
    if (rule === undefined) continue;
    if (rule.action === 'Pass') return 'pass';
    if (rule.action === 'Allow') return 'allow';
    return world.globalMonitor || isMonitor(policy) ? 'allow' : 'deny';
  }
  return 'none';
}

function policyTypes(policy: NetpolDocument): readonly string[] {
  if (policy.spec.policyTypes !== undefined && policy.spec.policyTypes.length > 0) return policy.spec.policyTypes;
  return policy.spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress'];
}

function networkPolicyTier(world: ModelWorld, subject: ModelPod, other: ModelPod, flow: ModelFlow, direction: 'ingress' | 'egress'): Outcome {
  const selecting = world.documents.filter((document): document is NetpolDocument => document.kind === 'NetworkPolicy')
    .filter((policy) => policy.metadata.namespace === subject.namespace && labelsMatch(policy.spec.podSelector, subject.labels)
      && policyTypes(policy).includes(direction === 'ingress' ? 'Ingress' : 'Egress'));
  if (selecting.length === 0) return 'none';
  const allowed = selecting.some((policy) => (policy.spec[direction] ?? []).some((rule) => {
    const peers = direction === 'ingress' ? rule.from : rule.to;
    const peerOk = peers === undefined || peers.length === 0 || peers.some((peer) => netpolPeerMatches(world, peer, other, policy.metadata.namespace));
    const portOk = rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((port) => netpolPortMatches(port, flow));
    return peerOk && portOk;
  }));
  if (allowed) return 'allow';
  return world.globalMonitor || selecting.every(isMonitor) ? 'allow' : 'deny';
}

function baselineTier(world: ModelWorld, subject: ModelPod, other: ModelPod, flow: ModelFlow, direction: 'ingress' | 'egress'): Outcome {
  const baseline = world.documents.find((document): document is BanpDocument => document.kind === 'BaselineAdminNetworkPolicy');
  if (baseline === undefined || !subjectSelects(world, baseline, subject)) return 'none';
  const rule = firstRule(world, baseline.spec[direction] ?? [], other, flow, direction);
  if (rule === undefined) return 'none';
  return rule.action === 'Allow' || world.globalMonitor || isMonitor(baseline) ? 'allow' : 'deny';
}

function directionAllows(world: ModelWorld, subject: ModelPod, other: ModelPod, flow: ModelFlow, direction: 'ingress' | 'egress'): boolean {
  const admin = adminTier(world, subject, other, flow, direction);
  if (admin === 'allow' || admin === 'deny') return admin === 'allow';
  const networkPolicy = networkPolicyTier(world, subject, other, flow, direction);
  if (networkPolicy !== 'none') return networkPolicy === 'allow';
  return baselineTier(world, subject, other, flow, direction) !== 'deny';
}

/** Whether the flow's connection should succeed: the source's egress and the destination's ingress both allow it. */
export function expectedReachable(world: ModelWorld, flow: ModelFlow): boolean {
  return directionAllows(world, flow.from, flow.to, flow, 'egress') && directionAllows(world, flow.to, flow.from, flow, 'ingress');
}
