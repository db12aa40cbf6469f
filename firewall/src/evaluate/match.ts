/** The matching predicates shared by the evaluator and the compiler: subjects, peers, ports. */
import { rangeContains, type Address } from '../model/address.js';
import { selectorMatches } from '../model/labels.js';
import {
  protocolNumber, type AdminPeer, type Endpoint, type Labels, type NetworkPolicy, type NetworkPolicyPeer,
  type PodSet, type PortMatch, type Protocol,
} from '../model/types.js';

/** The other side of a flow, seen from the endpoint a direction is evaluated for. */
export interface PeerAddress {
  readonly address: Address;
  /** The registered endpoint owning the address, or null for addresses outside the cluster's endpoints. */
  readonly endpoint: Endpoint | null;
}

export type NamespaceLabels = (namespace: string) => Labels;

export function podSetSelects(set: PodSet, endpoint: Endpoint, namespaceLabels: NamespaceLabels): boolean {
  if (!selectorMatches(set.namespaceSelector, namespaceLabels(endpoint.namespace))) return false;
  return set.kind === 'namespaces' || selectorMatches(set.podSelector, endpoint.labels);
}

export function adminPeerMatches(peer: AdminPeer, target: PeerAddress, namespaceLabels: NamespaceLabels): boolean {
  if (peer.kind === 'networks') return peer.networks.some((cidr) => rangeContains(cidr, target.address));
  return target.endpoint !== null && podSetSelects(peer, target.endpoint, namespaceLabels);
}

export function networkPolicyPeerMatches(
  peer: NetworkPolicyPeer, target: PeerAddress, policy: NetworkPolicy, namespaceLabels: NamespaceLabels,
): boolean {
  if (peer.kind === 'ipBlock') {
    return rangeContains(peer.cidr, target.address) && !peer.except.some((cidr) => rangeContains(cidr, target.address));
  }
  return target.endpoint !== null && selectorPeerSelects(peer, target.endpoint, policy, namespaceLabels);
}

/** A NetworkPolicy selector peer: podSelector alone means the policy's own namespace; both selectors AND. */
export function selectorPeerSelects(
  peer: Extract<NetworkPolicyPeer, { kind: 'selector' }>, endpoint: Endpoint, policy: NetworkPolicy, namespaceLabels: NamespaceLabels,
): boolean {
  const namespaceMatches = peer.namespaceSelector === null
    ? endpoint.namespace === policy.namespace
    : selectorMatches(peer.namespaceSelector, namespaceLabels(endpoint.namespace));
  return namespaceMatches && (peer.podSelector === null || selectorMatches(peer.podSelector, endpoint.labels));
}

const portProtocols: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export function protocolName(protocol: number): Protocol | null {
  return portProtocols.find((name) => protocolNumber[name] === protocol) ?? null;
}

/**
 * Whether a port entry matches (protocol, port). `destination` is the endpoint whose container ports name the
 * port: the subject for ingress, the peer for egress. Protocols without ports never match a port entry.
 */
export function portMatches(match: PortMatch, protocol: number, port: number | null, destination: Endpoint | null): boolean {
  const name = protocolName(protocol);
  if (name === null || port === null) return false;
  switch (match.kind) {
    case 'all':
      return match.protocol === name;
    case 'range':
      return match.protocol === name && match.start <= port && port <= match.end;
    case 'named':
      if (match.protocol !== null && match.protocol !== name) return false;
      return destination?.namedPorts.some((named) => named.name === match.name && named.protocol === name && named.port === port) ?? false;
  }
}

/** A rule's port list: null matches every protocol and port. */
export function portsMatch(ports: readonly PortMatch[] | null, protocol: number, port: number | null, destination: Endpoint | null): boolean {
  return ports === null || ports.some((match) => portMatches(match, protocol, port, destination));
}
