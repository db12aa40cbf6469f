/**
 * Cluster-wide policies on three hosts (m1 manager, w1 and w2 workers, each a network namespace running berthd on a
 * bridged underlay), the truth-table pods spread over them (a's on m1, b's on w1, c's on w2) and attached through
 * the CNI executables: policies applied once on the manager are enforced on every host from the cluster store.
 * The truth table runs every case of the single-host suite with pods of each namespace on all three hosts, so every
 * peer relation crosses hosts. Measured times are printed, never asserted.
 */
import t from 'tap';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import { netpol } from '../../src/netpol/documents.js';
import { PolicyCluster } from '../../src/netpol/cluster-topology.js';
import { cases } from '../../src/netpol/cases.js';
import { describeCell, runCase } from '../../src/netpol/runner.js';

const cluster = await PolicyCluster.create(t);
const probeTimeoutMs = 400;

t.test('a NetworkPolicy applied on the manager isolates a pod on another host', async (t) => {
  const target = cluster.pod('x', 'b');
  const sources = [cluster.pod('x', 'a'), cluster.pod('y', 'b'), cluster.pod('z', 'c')];
  const before = await Promise.all(sources.map((source) => source.agent.probe(target.ip, 80, 'tcp', probeTimeoutMs)));
  t.same(before, [true, true, true], 'before: x/b (on w1) is reachable from m1, w1 and w2');
  const applied = await cluster.apply([netpol('x', 'deny-b', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [] })]);
  t.comment(`policy change: applied on m1 after ${applied.appliedMs.toFixed(1)} ms, enforced on all three hosts after ${applied.visibleMs.toFixed(1)} ms`);
  const after = await Promise.all(sources.map((source) => source.agent.probe(target.ip, 80, 'tcp', probeTimeoutMs)));
  t.same(after, [false, false, false], 'after: x/b is isolated from pods on every host');
  t.equal(await cluster.pod('x', 'c').agent.probe(cluster.pod('y', 'c').ip, 80, 'tcp', probeTimeoutMs), true, 'other pods are still reachable');
  await cluster.reset();
  t.same(await Promise.all(sources.map((source) => source.agent.probe(target.ip, 80, 'tcp', probeTimeoutMs))), [true, true, true], 'removed: reachable again');
});

t.test('the truth table across hosts matches the independent model', async (t) => {
  for (const testCase of cases) {
    const outcome = await runCase(cluster, testCase);
    const blocked = outcome.cells.filter((cell) => !cell.expected).length;
    if (outcome.mismatches.length > 0) t.comment(`case "${testCase.name}": ${outcome.mismatches.length} of ${outcome.cells.length} probes disagree\n${outcome.table}`);
    t.same(outcome.mismatches.map(describeCell), [], `${testCase.name}: ${outcome.cells.length} probes (${blocked} expected blocked) match the model`);
  }
});

t.test('berth policy on the CLI: apply and rm on the manager, ls and status on any host, refused on a worker', async (t) => {
  const [m1, w1] = cluster.hosts as [BerthdHost, BerthdHost];
  const deny = JSON.stringify(netpol('y', 'cli-deny', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [] }));
  const applied = await m1.cli(['policy', 'apply', '-f', '-'], { stdin: deny });
  t.equal(applied.code, 0, `apply on m1 (${applied.stderr.trim()})`);
  t.match(applied.stdout, /NetworkPolicy\/y\/cli-deny created\nstored in the cluster at revision \d+; enforced on this host after [0-9.]+ ms/);
  await cluster.converge();
  t.match((await w1.cli(['policy', 'ls'])).stdout, /NetworkPolicy\s+y\s+cli-deny/, 'a worker lists the cluster\'s policies');
  t.equal(await cluster.pod('x', 'a').agent.probe(cluster.pod('y', 'c').ip, 80, 'tcp', probeTimeoutMs), false, 'y/c (on w2) is isolated');
  const refused = await w1.cli(['policy', 'apply', '-f', '-'], { stdin: JSON.stringify(netpol('y', 'from-worker', { podSelector: {}, ingress: [] })) });
  t.not(refused.code, 0, 'apply on a worker fails');
  t.match(refused.stderr, /is a worker; run this on a manager/, refused.stderr.trim());
  t.notMatch((await m1.cli(['policy', 'ls'])).stdout, /from-worker/, 'and stored nothing');
  t.match((await w1.cli(['policy', 'status'])).stdout, /^policy: in step with the store \(policies at revision \d+, endpoints at \d+\)/);
  t.match((await w1.cli(['cluster', 'ls'])).stdout, /\npolicy: in step with the store/, 'berth cluster ls says whether this host enforces the store\'s state');
  const removed = await m1.cli(['policy', 'rm', 'y/cli-deny']);
  t.match(removed.stdout, /NetworkPolicy\/y\/cli-deny removed from the cluster at revision \d+/);
  await cluster.converge();
  t.equal(await cluster.pod('x', 'a').agent.probe(cluster.pod('y', 'c').ip, 80, 'tcp', probeTimeoutMs), true, 'reachable again');
});

t.test('berth-firewall exec\'d (not served in berthd) registers over the local API, into the store', async (t) => {
  const pod = await cluster.addPod('x', 'f', 2, { firewall: 'exec' });
  const seen = await cluster.manager.api('GET', '/v1/endpoints') as Array<{ namespace: string; name: string; ips: string[] }>;
  t.ok(seen.some((endpoint) => endpoint.namespace === 'x' && endpoint.name === 'f' && endpoint.ips[0] === pod.ip), 'the manager enforces x/f, registered on w2');
  await cluster.apply([netpol('x', 'deny-f', { podSelector: { matchLabels: { pod: 'f' } }, ingress: [] })]);
  t.same(await Promise.all([cluster.pod('y', 'c'), cluster.pod('y', 'a')].map((source) => source.agent.probe(pod.ip, 80, 'tcp', probeTimeoutMs))), [false, false], 'a policy applied on m1 isolates it');
  await cluster.removePod(pod);
  const after = await cluster.manager.api('GET', '/v1/endpoints') as Array<{ name: string }>;
  t.notOk(after.some((endpoint) => endpoint.name === 'f'), 'its DEL removed it from the store');
  await cluster.reset();
});

t.test('bad input to the policy and endpoint API is refused with a clear error and stores nothing', async (t) => {
  const m1 = cluster.manager;
  const before = await m1.api('GET', '/v1/policies') as { revision: number; documents: unknown[] };
  const endpointsBefore = await m1.api('GET', '/v1/endpoints') as unknown[];
  const refused = async (path: string, body: unknown, method: 'POST' | 'DELETE' = 'POST'): Promise<string> => {
    try {
      await m1.api(method, path, body);
      return 'accepted';
    } catch (error) {
      return `${(error as { code?: string }).code ?? '?'}: ${(error as Error).message}`;
    }
  };
  const cases: Array<[string, string, unknown, RegExp, ('POST' | 'DELETE')?]> = [
    ['no text', '/v1/policies', {}, /REQUEST_INVALID: .*text must be a non-empty string/],
    ['unknown field', '/v1/policies', { text: 'x', force: true }, /REQUEST_INVALID: .*unknown field "force"/],
    ['a typo in a policy (form: for from:)', '/v1/policies', { text: JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'bad', namespace: 'x' }, spec: { podSelector: {}, ingress: [{ form: [] }] } }) }, /INVALID_DOCUMENT: .*spec\.ingress\[0\]/],
    ['a valid and an invalid document: neither', '/v1/policies', { text: `${JSON.stringify(netpol('x', 'ok', { podSelector: {}, ingress: [] }))}\n---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: bad2}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}` }, /INVALID_DOCUMENT: .*between 1 and 65535/],
    ['monitor not a boolean', '/v1/policies/monitor', { monitor: 'yes' }, /REQUEST_INVALID: .*monitor must be true or false/],
    ['remove a key of no known kind', '/v1/policies/Secret%2Fx', undefined, /INVALID_ARGUMENT/, 'DELETE'],
    ['remove what is not there', `/v1/policies/${encodeURIComponent('NetworkPolicy/x/nope')}`, undefined, /NOT_FOUND: Cannot remove NetworkPolicy\/x\/nope/, 'DELETE'],
    ['an endpoint with a bad address', '/v1/endpoints', { namespace: 'x', name: 'p', ips: ['10.0.0.300'] }, /ips\[0\]: "10\.0\.0\.300" is not an IP address/],
    ['an endpoint with an uppercase namespace', '/v1/endpoints', { namespace: 'X', name: 'p', ips: ['10.0.0.3'] }, /namespace: "X" must be a lowercase RFC 1123 label/],
    ['an endpoint with an unknown field', '/v1/endpoints', { namespace: 'x', name: 'p', ips: ['10.0.0.3'], owner: 'me' }, /REQUEST_INVALID: .*unknown field "owner"/],
    ['GC without a list', '/v1/endpoints/gc', { network: 'polnet', valid: 'all' }, /REQUEST_INVALID: .*valid must be a list/],
  ];
  for (const [name, path, body, expected, method] of cases) t.match(await refused(path, body, method), expected, name);
  const after = await m1.api('GET', '/v1/policies') as { revision: number; documents: unknown[] };
  t.same(after.documents, before.documents, 'no document was stored');
  t.same(await m1.api('GET', '/v1/endpoints'), endpointsBefore, 'no endpoint was registered');
});

t.test('a host that leaves: the managers drop its endpoints from every host\'s table', async (t) => {
  const w2 = cluster.hosts[2] as BerthdHost;
  const left = await w2.cli(['cluster', 'leave'], { timeoutMs: 180_000 });
  t.equal(left.code, 0, `w2 left (${left.stderr.trim()})`);
  const deadline = Date.now() + 30_000;
  let names: string[] = [];
  for (;;) {
    names = (await cluster.manager.api('GET', '/v1/endpoints') as Array<{ namespace: string; name: string }>).map((endpoint) => `${endpoint.namespace}/${endpoint.name}`);
    if (!names.some((name) => name.endsWith('/c')) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.same(names.filter((name) => name.endsWith('/c')), [], 'm1 no longer enforces w2\'s pods');
  t.ok(names.includes('x/a') && names.includes('x/b'), 'the other hosts\' pods stay');
  t.match((await w2.cli(['policy', 'status'])).stdout, /not in a cluster/, 'w2 is back on local files');
});
