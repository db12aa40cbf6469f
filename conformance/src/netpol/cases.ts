/**
 * The truth-table cases, after the upstream Kubernetes netpol e2e model: namespaces x, y, z (label ns=NAME; x
 * also team=blue); pods a, b, c in each (label pod=NAME), serving TCP and UDP 80 and 81, with named ports
 * serve-80-tcp, serve-80-udp, serve-81-tcp, serve-81-udp. Pod addresses: 10.88.0.1N (x), .2N (y), .3N (z).
 */
import { all, anp, banp, netpol, ns, pod, type PolicyDocument } from './documents.js';

export interface NetpolCase {
  readonly name: string;
  readonly documents: readonly PolicyDocument[];
  /** Applied after `documents`, before probing (an update of the same policies). */
  readonly then?: readonly PolicyDocument[];
  /** Removed after `documents` were applied, before probing. */
  readonly remove?: readonly PolicyDocument[];
  /** A pod created and registered (through the CNI plugin) after the policies are in place. */
  readonly addPod?: { readonly namespace: string; readonly name: string };
  /** Global monitor mode during the case. */
  readonly monitor?: boolean;
}

const denyIngress = (namespace: string) => netpol(namespace, 'deny-ingress', { podSelector: all, policyTypes: ['Ingress'] });
const tcp = (port: number | string) => ({ protocol: 'TCP' as const, port });

export const cases: readonly NetpolCase[] = [
  { name: 'no policy: everything reachable', documents: [] },
  { name: 'default deny ingress', documents: [denyIngress('x')] },
  { name: 'default deny egress', documents: [netpol('x', 'deny-egress', { podSelector: all, policyTypes: ['Egress'] })] },
  { name: 'default deny ingress and egress', documents: [netpol('y', 'deny-all', { podSelector: all, policyTypes: ['Ingress', 'Egress'] })] },
  { name: 'allow from the same namespace', documents: [netpol('x', 'same-ns', { podSelector: all, ingress: [{ from: [{ podSelector: all }] }] })] },
  { name: 'namespaceSelector only', documents: [netpol('x', 'from-y', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: ns('y') }] }] })] },
  { name: 'namespaceSelector AND podSelector in one peer', documents: [netpol('x', 'and', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: ns('y'), podSelector: pod('b') }] }] })] },
  { name: 'namespaceSelector OR podSelector as two peers', documents: [netpol('x', 'or', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: ns('y') }, { podSelector: pod('b') }] }] })] },
  {
    name: 'matchExpressions In on pod labels',
    documents: [netpol('x', 'in', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: all, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }] })],
  },
  {
    name: 'matchExpressions NotIn on namespace labels',
    documents: [netpol('x', 'notin', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['y'] }] } }] }] })],
  },
  {
    name: 'matchExpressions Exists and DoesNotExist',
    documents: [
      netpol('y', 'exists', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } }] }] }),
      netpol('z', 'absent', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } }] }] }),
    ],
  },
  { name: 'ipBlock with except', documents: [netpol('x', 'cidr', { podSelector: pod('a'), ingress: [{ from: [{ ipBlock: { cidr: '10.88.0.16/28', except: ['10.88.0.20/32'] } }] }] })] },
  { name: 'named port (TCP)', documents: [netpol('x', 'named', { podSelector: pod('a'), ingress: [{ ports: [tcp('serve-81-tcp')] }] })] },
  { name: 'named port (UDP)', documents: [netpol('y', 'named-udp', { podSelector: pod('b'), ingress: [{ ports: [{ protocol: 'UDP', port: 'serve-80-udp' }] }] })] },
  { name: 'endPort range', documents: [netpol('x', 'range', { podSelector: pod('a'), ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] })] },
  { name: 'protocol without port', documents: [netpol('x', 'udp-only', { podSelector: pod('a'), ingress: [{ ports: [{ protocol: 'UDP' }] }] })] },
  {
    name: 'ingress and egress together',
    documents: [netpol('x', 'both', {
      podSelector: pod('a'), policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: ns('y') }] }], egress: [{ to: [{ namespaceSelector: ns('z') }], ports: [tcp(80)] }],
    })],
  },
  {
    name: 'two policies add up',
    documents: [
      netpol('x', 'from-b', { podSelector: pod('a'), ingress: [{ from: [{ podSelector: pod('b') }] }] }),
      netpol('x', 'from-z', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: ns('z') }], ports: [{ protocol: 'UDP', port: 81 }] }] }),
    ],
  },
  {
    name: 'policy removed restores traffic',
    documents: [netpol('x', 'deny-all', { podSelector: all, policyTypes: ['Ingress', 'Egress'] })],
    remove: [netpol('x', 'deny-all', { podSelector: all, policyTypes: ['Ingress', 'Egress'] })],
  },
  {
    name: 'policy updated in place',
    documents: [netpol('x', 'web', { podSelector: pod('a'), ingress: [{ ports: [tcp(80)] }] })],
    then: [netpol('x', 'web', { podSelector: pod('a'), ingress: [{ ports: [tcp(81)] }] })],
  },
  {
    name: 'a pod added after the policy is covered at once',
    documents: [netpol('x', 'only-y', { podSelector: all, ingress: [{ from: [{ namespaceSelector: ns('y') }] }] })],
    addPod: { namespace: 'x', name: 'd' },
  },
  { name: 'egress to an ipBlock only', documents: [netpol('x', 'egress-cidr', { podSelector: all, egress: [{ to: [{ ipBlock: { cidr: '10.88.0.16/28' } }] }] })] },
  { name: 'egress on a named port', documents: [netpol('y', 'egress-named', { podSelector: pod('a'), egress: [{ ports: [tcp('serve-80-tcp')] }] })] },
  { name: 'egress UDP 80 only (DNS-like)', documents: [netpol('x', 'dns-only', { podSelector: all, egress: [{ ports: [{ protocol: 'UDP', port: 80 }] }] })] },
  { name: 'allow-all rule beside a default deny', documents: [denyIngress('x'), netpol('x', 'allow-all', { podSelector: all, ingress: [{}] })] },
  { name: 'empty ingress list isolates', documents: [netpol('z', 'closed', { podSelector: pod('c'), ingress: [] })] },
  { name: 'all namespaces, pods named a', documents: [netpol('y', 'from-any-a', { podSelector: pod('c'), ingress: [{ from: [{ namespaceSelector: all, podSelector: pod('a') }] }] })] },
  {
    name: 'tier: AdminNetworkPolicy Deny beats a NetworkPolicy allow',
    documents: [
      netpol('x', 'allow-all', { podSelector: all, ingress: [{}] }),
      anp('deny-y-to-x', { priority: 10, subject: { namespaces: ns('x') }, ingress: [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: ns('y') }] }] }),
    ],
  },
  {
    name: 'tier: Pass delegates to NetworkPolicy',
    documents: [
      anp('pass-y', { priority: 5, subject: { namespaces: ns('x') }, ingress: [{ action: 'Pass', from: [{ namespaces: ns('y') }] }] }),
      anp('deny-all-into-x', { priority: 10, subject: { namespaces: ns('x') }, ingress: [{ action: 'Deny', from: [{ namespaces: all }] }] }),
      netpol('x', 'y-on-80', { podSelector: all, ingress: [{ from: [{ namespaceSelector: ns('y') }], ports: [tcp(80)] }] }),
    ],
  },
  {
    name: 'tier: baseline Deny when nothing else matches',
    documents: [
      banp({ subject: { namespaces: ns('z') }, ingress: [{ action: 'Deny', from: [{ namespaces: all }] }] }),
      netpol('z', 'a-from-x', { podSelector: pod('a'), ingress: [{ from: [{ namespaceSelector: ns('x') }] }] }),
    ],
  },
  {
    name: 'tier: AdminNetworkPolicy Allow beats a NetworkPolicy deny',
    documents: [denyIngress('x'), anp('allow-z', { priority: 1, subject: { namespaces: ns('x') }, ingress: [{ action: 'Allow', from: [{ namespaces: ns('z') }] }] })],
  },
  {
    name: 'tier: priorities order admin policies',
    documents: [
      anp('allow-ya', { priority: 10, subject: { namespaces: ns('x') }, ingress: [{ action: 'Allow', from: [{ pods: { namespaceSelector: ns('y'), podSelector: pod('a') } }] }] }),
      anp('deny-y', { priority: 20, subject: { namespaces: ns('x') }, ingress: [{ action: 'Deny', from: [{ namespaces: ns('y') }] }] }),
    ],
  },
  {
    name: 'tier: admin egress Deny to networks',
    documents: [anp('no-za-zb', { priority: 3, subject: { namespaces: ns('y') }, egress: [{ action: 'Deny', to: [{ networks: ['10.88.0.30/31'] }] }] })],
  },
  {
    name: 'tier: admin rule on ports for a pod subject',
    documents: [anp('guard-xa', {
      priority: 7, subject: { pods: { namespaceSelector: ns('x'), podSelector: pod('a') } },
      ingress: [{ action: 'Deny', from: [{ namespaces: ns('z') }], ports: [{ portNumber: { protocol: 'UDP', port: 81 } }, { portRange: { protocol: 'TCP', start: 80, end: 81 } }] }],
    })],
  },
  {
    name: 'tier: admin rule on a named port',
    documents: [anp('no-81-udp', { priority: 2, subject: { namespaces: ns('z') }, ingress: [{ action: 'Deny', from: [{ namespaces: all }], ports: [{ namedPort: 'serve-81-udp' }] }] })],
  },
  {
    name: 'monitor mode per policy',
    documents: [
      netpol('x', 'trial', { podSelector: all, policyTypes: ['Ingress'] }, { 'berth.dev/monitor': 'true' }),
      netpol('y', 'enforced', { podSelector: pod('b'), policyTypes: ['Ingress'] }),
    ],
  },
  { name: 'global monitor mode', documents: [denyIngress('x'), netpol('y', 'deny-egress', { podSelector: all, policyTypes: ['Egress'] })], monitor: true },
];
