import t from 'tap';
import { decide, type FlowQuery } from '../../src/evaluate/decide.js';
import { parseDocuments } from '../../src/model/documents.js';
import { buildPolicySet } from '../../src/model/policy-set.js';
import type { Endpoint } from '../../src/model/types.js';

const endpoints: Endpoint[] = ['x', 'y'].flatMap((namespace, nsIndex) => ['a', 'b'].map((pod, podIndex) => ({
  namespace, name: pod, labels: { pod }, ips: [`10.0.${nsIndex}.${podIndex + 10}`], interface: `veth-${namespace}${pod}`,
  namedPorts: [{ name: 'http', port: 80 + podIndex, protocol: 'TCP' as const }],
})));

const namespaces = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: y, labels: {ns: y}}\n';

function verdicts(yaml: string, queries: readonly FlowQuery[], monitor = false): string[] {
  const { policies, namespaces: parsed } = buildPolicySet(parseDocuments(`${namespaces}---\n${yaml}`).map((item) => item.document), { monitor });
  return queries.map((query) => decide(policies, parsed, endpoints, query).verdict);
}

const np = (name: string, namespace: string, spec: string): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}\n---\n`;
const anp = (name: string, priority: number, spec: string): string =>
  `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n  priority: ${priority}\n${spec}\n---\n`;

t.test('no policy allows everything', async (t) => {
  t.same(verdicts('', [{ from: 'x/a', to: 'y/b', port: 80 }]), ['allow']);
  t.match(decide(buildPolicySet([]).policies, [], endpoints, { from: 'x/a', to: 'y/b', port: 80 }), { tier: 'default', verdict: 'allow' });
});

t.test('default deny ingress isolates only the selected pods and only for ingress', async (t) => {
  const policy = np('deny', 'x', '  podSelector: {}\n  policyTypes: [Ingress]');
  t.same(verdicts(policy, [
    { from: 'y/a', to: 'x/a', port: 80 }, { from: 'x/a', to: 'y/a', port: 80 }, { from: 'y/a', to: 'y/b', port: 80 },
  ]), ['deny', 'allow', 'allow']);
});

t.test('podSelector and namespaceSelector in one peer AND, in two peers OR', async (t) => {
  const and = np('and', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}]}]');
  const or = np('or', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}, {podSelector: {matchLabels: {pod: b}}}]}]');
  const queries = [{ from: 'y/b', to: 'x/a', port: 80 }, { from: 'y/a', to: 'x/a', port: 80 }, { from: 'x/b', to: 'x/a', port: 80 }];
  t.same(verdicts(and, queries), ['allow', 'deny', 'deny']);
  t.same(verdicts(or, queries), ['allow', 'allow', 'allow']);
});

t.test('named ports resolve on the destination pod', async (t) => {
  const ingress = np('named', 'y', '  podSelector: {}\n  ingress: [{ports: [{port: http}]}]');
  // y/a names port 80 "http", y/b names port 81 "http".
  t.same(verdicts(ingress, [{ from: 'x/a', to: 'y/a', port: 80 }, { from: 'x/a', to: 'y/a', port: 81 }, { from: 'x/a', to: 'y/b', port: 81 }]),
    ['allow', 'deny', 'allow']);
  const egress = np('named', 'x', '  podSelector: {}\n  egress: [{ports: [{port: http}]}]');
  t.same(verdicts(egress, [{ from: 'x/a', to: 'y/b', port: 81 }, { from: 'x/a', to: 'y/b', port: 80 }, { from: 'x/a', to: '192.0.2.1', port: 80 }]),
    ['allow', 'deny', 'deny'], 'egress named ports match only endpoints that name the port');
});

t.test('ipBlock with except, endPort ranges and protocols', async (t) => {
  const policy = np('cidr', 'x', '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}], ports: [{port: 80, endPort: 81}]}]');
  t.same(verdicts(policy, [
    { from: 'x/b', to: 'x/a', port: 81 }, { from: 'y/a', to: 'x/a', port: 80 }, { from: '10.0.200.1', to: 'x/a', port: 80 },
    { from: 'x/b', to: 'x/a', port: 82 }, { from: 'x/b', to: 'x/a', port: 80, protocol: 'udp' }, { from: 'x/b', to: 'x/a', protocol: 'icmp' },
  ]), ['allow', 'deny', 'allow', 'deny', 'deny', 'deny']);
});

t.test('AdminNetworkPolicy Deny beats a NetworkPolicy allow, Pass delegates, priority orders', async (t) => {
  const allowAll = np('allow-all', 'x', '  podSelector: {}\n  ingress: [{}]');
  const denyY = anp('deny-y', 20, '  subject: {namespaces: {matchLabels: {ns: x}}}\n  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: y}}}]}]');
  const passY = anp('pass-y', 10, '  subject: {namespaces: {matchLabels: {ns: x}}}\n  ingress: [{action: Pass, from: [{pods: {namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}}]}]');
  const queries = [{ from: 'y/a', to: 'x/a', port: 80 }, { from: 'y/b', to: 'x/a', port: 80 }];
  t.same(verdicts(allowAll + denyY, queries), ['deny', 'deny']);
  t.same(verdicts(allowAll + denyY + passY, queries), ['allow', 'deny'], 'Pass at higher precedence skips the Deny');
  const set = buildPolicySet(parseDocuments(namespaces + '---\n' + allowAll + denyY).map((item) => item.document));
  const decision = decide(set.policies, set.namespaces, endpoints, queries[0] as FlowQuery);
  t.match(decision, { tier: 'admin', policy: 'AdminNetworkPolicy deny-y', rule: 'ingress[0]' });
});

t.test('baseline applies only where NetworkPolicy does not isolate', async (t) => {
  const banp = 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n---\n';
  const allowA = np('allow-a', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]');
  t.same(verdicts(banp + allowA, [{ from: 'y/a', to: 'x/a', port: 80 }, { from: 'y/a', to: 'x/b', port: 80 }, { from: '192.0.2.1', to: 'x/b', port: 80 }]),
    ['allow', 'deny', 'allow'], 'baseline peers select pods, so an outside address matches no baseline rule');
});

t.test('monitor mode turns denies into monitor, globally or per policy', async (t) => {
  const deny = np('deny', 'x', '  podSelector: {}\n  policyTypes: [Ingress]');
  const monitored = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x, annotations: {berth.dev/monitor: "true"}}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n---\n';
  const query = [{ from: 'y/a', to: 'x/a', port: 80 }];
  t.same(verdicts(deny, query, true), ['monitor']);
  t.same(verdicts(monitored, query), ['monitor']);
  t.same(verdicts(monitored + np('deny2', 'x', '  podSelector: {}\n  policyTypes: [Ingress]'), query), ['deny'], 'an enforcing policy that also isolates keeps the drop');
});

t.test('egress and ingress both have to allow', async (t) => {
  const egress = np('deny-egress', 'y', '  podSelector: {}\n  policyTypes: [Egress]');
  const decision = decide(buildPolicySet(parseDocuments(egress).map((item) => item.document)).policies, [], endpoints, { from: 'y/a', to: 'x/a', port: 80 });
  t.match(decision, { verdict: 'deny', tier: 'networkpolicy', egress: { verdict: 'deny' }, ingress: { verdict: 'allow' } });
  t.match(decision.reason, /^egress: y\/a is isolated for egress/);
});

t.test('queries name unknown endpoints and bad protocols clearly', async (t) => {
  t.throws(() => decide(buildPolicySet([]).policies, [], endpoints, { from: 'x/nope', to: 'x/a' }), { code: 'NOT_FOUND', message: /x\/nope/ });
  t.throws(() => decide(buildPolicySet([]).policies, [], endpoints, { from: 'x/a', to: 'x/b', protocol: 'tcpp' }), { code: 'INVALID_ARGUMENT' });
});
