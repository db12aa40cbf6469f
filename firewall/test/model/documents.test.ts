import t from 'tap';
import { FirewallCode, FirewallError } from '../../src/errors.js';
import { parseDocuments } from '../../src/model/documents.js';
import type { AdminNetworkPolicy, BaselineAdminNetworkPolicy, NetworkPolicy } from '../../src/model/types.js';

function only<T>(text: string): T {
  const documents = parseDocuments(text);
  if (documents.length !== 1) throw new Error(`expected one document, got ${documents.length}`);
  return documents[0]?.document as T;
}

function rejection(text: string): FirewallError {
  try {
    parseDocuments(text);
  } catch (error) {
    if (error instanceof FirewallError) return error;
    throw error;
  }
  throw new Error('document was accepted');
}

const web = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}
    - ipBlock: {cidr: 10.0.0.1/16, except: [10.0.1.0/24]}
    ports:
    - port: 80
    - {protocol: UDP, port: 1000, endPort: 2000}
    - port: http
    - protocol: SCTP
`;

t.test('a NetworkPolicy is read with its peers, ports and defaulted policyTypes', async (t) => {
  const policy = only<NetworkPolicy>(web);
  t.equal(policy.namespace, 'x');
  t.same(policy.policyTypes, { ingress: true, egress: false }, 'Ingress always; Egress only with an egress section');
  const rule = policy.ingress[0];
  t.equal(rule?.peers?.length, 2);
  t.match(rule?.peers?.[0], { kind: 'selector', namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } });
  t.match(rule?.peers?.[1], { kind: 'ipBlock', cidr: { text: '10.0.0.0/16' }, except: [{ text: '10.0.1.0/24' }] }, 'host bits are cleared as net.ParseCIDR does');
  t.same(rule?.ports, [
    { kind: 'range', protocol: 'TCP', start: 80, end: 80 },
    { kind: 'range', protocol: 'UDP', start: 1000, end: 2000 },
    { kind: 'named', protocol: 'TCP', name: 'http' },
    { kind: 'all', protocol: 'SCTP' },
  ]);
});

t.test('policyTypes defaulting and explicit values', async (t) => {
  const base = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n';
  t.same(only<NetworkPolicy>(`${base}  egress: []\n`).policyTypes, { ingress: true, egress: true }, 'egress present (even empty) adds Egress');
  t.same(only<NetworkPolicy>(`${base}  policyTypes: [Egress]\n`).policyTypes, { ingress: false, egress: true });
  t.same(only<NetworkPolicy>(`${base}  policyTypes: []\n`).policyTypes, { ingress: true, egress: false }, 'an empty list defaults');
  t.equal(only<NetworkPolicy>(base).namespace, 'default', 'no namespace means default');
  const allowAll = only<NetworkPolicy>(`${base}  ingress: [{}]\n`);
  t.same(allowAll.ingress, [{ peers: null, ports: null }], 'an empty rule matches every peer and port');
  t.same(only<NetworkPolicy>(`${base}  ingress: []\n`).ingress, [], 'an empty ingress list allows nothing');
});

t.test('multi-document YAML, JSON and kind: List all parse', async (t) => {
  const text = `${web}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: y, labels: {ns: y}}\n---\n`;
  const documents = parseDocuments(text);
  t.equal(documents.length, 2);
  t.same(documents[1]?.document, { kind: 'Namespace', name: 'y', labels: { ns: 'y', 'kubernetes.io/metadata.name': 'y' } });
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'z' } }] });
  t.same(parseDocuments(json).map((item) => item.document.kind), ['Namespace']);
  t.same(parseDocuments(''), [], 'an empty file holds no documents');
});

t.test('AdminNetworkPolicy and BaselineAdminNetworkPolicy use upstream field names', async (t) => {
  const anp = only<AdminNetworkPolicy>(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-control}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: a}}}}
  ingress:
  - name: deny-y
    action: Deny
    from: [{namespaces: {matchLabels: {ns: y}}}]
    ports: [{portNumber: {protocol: TCP, port: 80}}, {namedPort: http}, {portRange: {protocol: UDP, start: 80, end: 81}}]
  egress:
  - action: Pass
    to: [{networks: [10.0.0.0/8]}, {pods: {namespaceSelector: {}, podSelector: {}}}]
`);
  t.equal(anp.priority, 10);
  t.equal(anp.ingress[0]?.name, 'deny-y');
  t.equal(anp.egress[0]?.name, 'egress[0]', 'unnamed rules are named by position');
  t.same(anp.ingress[0]?.ports, [
    { kind: 'range', protocol: 'TCP', start: 80, end: 80 },
    { kind: 'named', protocol: null, name: 'http' },
    { kind: 'range', protocol: 'UDP', start: 80, end: 81 },
  ]);
  const banp = only<BaselineAdminNetworkPolicy>(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default, annotations: {berth.dev/monitor: "true"}}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
`);
  t.equal(banp.monitor, true, 'the monitor annotation is read');
  t.equal(banp.ingress[0]?.action, 'Deny');
});

const invalidCases: ReadonlyArray<{ name: string; text: string; field: string; message: RegExp }> = [
  { name: 'missing podSelector', field: 'spec.podSelector', message: /required/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {}\n' },
  { name: 'typo in a field name', field: 'spec.ingress[0].form', message: /unknown field/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{form: []}]}\n' },
  { name: 'port out of range', field: 'spec.ingress[0].ports[1].port', message: /between 1 and 65535/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{ports: [{port: 80}, {port: 70000}]}]}\n' },
  { name: 'endPort below port', field: 'spec.egress[0].ports[0].endPort', message: /greater than or equal/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, egress: [{ports: [{port: 90, endPort: 80}]}]}\n' },
  { name: 'endPort with a named port', field: 'spec.ingress[0].ports[0].endPort', message: /named port/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{ports: [{port: http, endPort: 80}]}]}\n' },
  { name: 'numeric string as a port name', field: 'spec.ingress[0].ports[0].port', message: /at least one letter/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{ports: [{port: "80"}]}]}\n' },
  { name: 'unknown protocol', field: 'spec.ingress[0].ports[0].protocol', message: /TCP, UDP, SCTP/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}\n' },
  { name: 'ipBlock with a selector', field: 'spec.ingress[0].from[0]', message: /both ipBlock/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}\n' },
  { name: 'empty peer', field: 'spec.ingress[0].from[0]', message: /must specify a peer/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{from: [{}]}]}\n' },
  { name: 'except outside cidr', field: 'spec.ingress[0].from[0].ipBlock.except[0]', message: /strict subset/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]}\n' },
  { name: 'bad cidr', field: 'spec.egress[0].to[0].ipBlock.cidr', message: /not a valid CIDR/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.300/8}}]}]}\n' },
  { name: 'In without values', field: 'spec.podSelector.matchExpressions[0].values', message: /non-empty/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {matchExpressions: [{key: a, operator: In}]}}\n' },
  { name: 'Exists with values', field: 'spec.podSelector.matchExpressions[0].values', message: /must be empty/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}\n' },
  { name: 'unknown operator', field: 'spec.podSelector.matchExpressions[0].operator', message: /one of In/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {matchExpressions: [{key: a, operator: Gt, values: ["1"]}]}}\n' },
  { name: 'label value that is a number', field: 'spec.podSelector.matchLabels.app', message: /must be a string/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {matchLabels: {app: 1}}}\n' },
  { name: 'invalid policy type', field: 'spec.policyTypes[0]', message: /Ingress" or "Egress/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, policyTypes: [ingress]}\n' },
  { name: 'uppercase name', field: 'metadata.name', message: /RFC 1123/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: Web}\nspec: {podSelector: {}}\n' },
  { name: 'wrong apiVersion', field: 'apiVersion', message: /networking.k8s.io\/v1/, text: 'apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n' },
  { name: 'unsupported kind', field: 'kind', message: /not supported/, text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n' },
  { name: 'monitor annotation not boolean', field: 'metadata.annotations.berth.dev/monitor', message: /"true" or "false"/, text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, annotations: {berth.dev/monitor: "yes"}}\nspec: {podSelector: {}}\n' },
  { name: 'ANP priority out of range', field: 'spec.priority', message: /between 0 and 1000/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1001, subject: {namespaces: {}}}\n' },
  { name: 'ANP subject with both fields', field: 'spec.subject', message: /exactly one of namespaces, pods/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}}\n' },
  { name: 'ANP rule without peers', field: 'spec.ingress[0].from', message: /at least 1/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: []}]}\n' },
  { name: 'ANP unknown action', field: 'spec.egress[0].action', message: /Allow, Deny, Pass/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Drop, to: [{namespaces: {}}]}]}\n' },
  { name: 'ANP networks in ingress', field: 'spec.ingress[0].from[0].networks', message: /unknown field/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]}\n' },
  { name: 'ANP port with two kinds', field: 'spec.ingress[0].ports[0]', message: /exactly one of portNumber/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{namedPort: web, portNumber: {port: 80}}]}]}\n' },
  { name: 'ANP port range reversed', field: 'spec.ingress[0].ports[0].portRange.end', message: /greater than start/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portRange: {start: 90, end: 80}}]}]}\n' },
  { name: 'ANP node peers', field: 'spec.egress[0].to[0].nodes', message: /not supported/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{nodes: {}}]}]}\n' },
  { name: 'BANP with Pass', field: 'spec.ingress[0].action', message: /Allow, Deny/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec: {subject: {namespaces: {}}, ingress: [{action: Pass, from: [{namespaces: {}}]}]}\n' },
  { name: 'BANP not named default', field: 'metadata.name', message: /must be "default"/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: {namespaces: {}}}\n' },
  { name: 'cluster-scoped kind with a namespace', field: 'metadata.namespace', message: /cluster-scoped/, text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a, namespace: x}\nspec: {priority: 1, subject: {namespaces: {}}}\n' },
  { name: 'a scalar document', field: '', message: /must be an object/, text: 'just text\n' },
];

t.test('invalid documents are rejected whole, naming the field', async (t) => {
  for (const testCase of invalidCases) {
    const error = rejection(testCase.text);
    t.equal(error.code, FirewallCode.InvalidDocument, `${testCase.name}: code`);
    if (testCase.field !== '') t.equal(error.field, testCase.field, `${testCase.name}: field`);
    t.match(error.message, testCase.message, `${testCase.name}: message`);
    t.match(error.message, /^document 1/, `${testCase.name}: names the document`);
  }
});

t.test('one bad document rejects the whole file and names its position', async (t) => {
  const error = rejection(`${web}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: y}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}\n`);
  t.match(error.message, /^document 2 \(NetworkPolicy y\/bad\): spec\.ingress\[0\]\.ports\[0\]\.port: must be between 1 and 65535/);
});

t.test('malformed YAML is reported as such', async (t) => {
  t.match(rejection('a: [1, 2\n').message, /document 1: invalid YAML/);
  t.match(rejection('a: 1\na: 2\n').message, /invalid YAML/, 'duplicate keys are an error');
});
