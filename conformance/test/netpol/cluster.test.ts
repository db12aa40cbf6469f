/**
 * Cluster-wide policies on three hosts (m1 manager, w1 and w2 workers, each a network namespace running berthd on a
 * bridged underlay), the truth-table pods spread over them (a's on m1, b's on w1, c's on w2) and attached through
 * the CNI executables: policies applied once on the manager are enforced on every host from the cluster store.
 * The truth table runs every case of the single-host suite with pods of each namespace on all three hosts, so every
 * peer relation crosses hosts. Measured times are printed, never asserted.
 */
import t from 'tap';
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
