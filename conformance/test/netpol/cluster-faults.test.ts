/**
 * Cluster-wide policies under change and under faults, on three hosts (m1 manager, w1 and w2 workers, pods a on m1,
 * b on w1, c on w2): continuous probers in their own processes check an isolated and an allowed pair every few
 * milliseconds while
 *   - 100 incremental updates (policies applied and removed on the manager, endpoints registered, relabelled and
 *     removed on every host) and two full resyncs run through the store;
 *   - a host's berthd is SIGKILLed, the cluster changes, and the berthd restarts and converges;
 *   - a host is cut off from the others (it loses the store), the cluster changes, and the partition heals.
 * Not one probe of an isolated pair may pass, not one of an allowed pair may fail. The update sequence is seeded
 * (replay with BERTH_ATOMICITY_SEED). Measured times are printed, never asserted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { seededRandom } from '../../src/cluster/workload.js';
import { PolicyCluster, type ClusterPod } from '../../src/netpol/cluster-topology.js';
import { ContinuousProber, type ProbeCounts } from '../../src/netpol/continuous-prober.js';
import { anp, netpol, type PolicyDocument } from '../../src/netpol/documents.js';
import { establishedFlow } from '../../src/netpol/established-flow.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import type { PluginCallError } from '../../src/cni/engine.js';
import { createTestNetns, uniqueName } from '../../src/harness/index.js';

const seed = Number(process.env['BERTH_ATOMICITY_SEED'] ?? Date.now() % 1_000_000);
const updateCount = 100;
const resyncAt = new Set([33, 66]);
/** Removals find nothing to remove now and then; at most this many tries in all. */
const updateAttemptsMax = 300;
const probeEveryMs = 5;
/**
 * A dropped SYN is retransmitted after 1 s, so a probe that waits 800 ms still fails on any drop, while a host
 * loaded by other test runs (load 10+ on 2 CPUs here) does not turn a slow answer into a failure.
 */
const probeTimeoutMs = 800;
const probeOnceTimeoutMs = 400;
const churnEndpoints = 40;
const echoPort = 90;
const unreachableWaitMsMax = 30_000;

const cluster = await PolicyCluster.create(t);
const [m1, w1, w2] = cluster.hosts as [BerthdHost, BerthdHost, BerthdHost];
const none = { attempts: 0, passed: 0, failed: 0 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Isolates `pod` from everything but pods labelled role=friend. */
function isolate(pod: ClusterPod, name = `iso-${pod.name}`, port = 80): PolicyDocument {
  return netpol(pod.namespace, name, { podSelector: { matchLabels: { pod: pod.name } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'friend' } } }], ports: [{ port }] }] });
}

function endpointRecord(pod: ClusterPod, labels: Record<string, string>): object {
  return { namespace: pod.namespace, name: pod.name, labels, ips: [pod.ip], interface: '', namedPorts: pod.namedPorts, network: 'polnet', containerId: pod.containerId, ifName: 'eth0' };
}

function churnRecord(index: number, labels: Record<string, string>): object {
  return { namespace: 'z', name: `churn${index}`, labels, ips: [`10.90.${index % 3}.${10 + index}`], interface: '', namedPorts: [], network: 'polnet', containerId: `churn${index}`, ifName: 'eth0' };
}

function checkCounts(t: Test, counts: Record<string, ProbeCounts>, what: string, minimum: number): void {
  const isolated = counts['isolated'] ?? none;
  const allowed = counts['allowed'] ?? none;
  t.ok(isolated.attempts >= minimum, `${what}: the isolated pair was probed continuously (${isolated.attempts} probes)`);
  t.equal(isolated.passed, 0, `${what}: not one probe of the isolated pair passed`);
  t.equal(allowed.failed, 0, `${what}: not one probe of the allowed pair failed (${allowed.attempts} probes)`);
}

/** Runs `work` while a prober in `client` probes the isolated and the allowed pod; returns the counts. */
async function probedDuring(t: Test, client: ClusterPod, targets: { isolated: ClusterPod; allowed: ClusterPod }, work: () => Promise<void>): Promise<Record<string, ProbeCounts>> {
  const prober = await ContinuousProber.start(t, client.netns.path, [{ name: 'isolated', host: targets.isolated.ip, port: 80 }, { name: 'allowed', host: targets.allowed.ip, port: 80 }], { everyMs: probeEveryMs, timeoutMs: probeTimeoutMs });
  let failure: unknown;
  try {
    await work();
  } catch (error) {
    failure = error ?? new Error('failed');
  }
  const counts = await prober.stop();
  if (failure !== undefined) throw failure;
  return counts;
}

async function updatesOf(host: BerthdHost): Promise<{ full: number; incremental: number; unchanged: number }> {
  const status = await cluster.status(host) as unknown as { updates: { full: number; incremental: number; unchanged: number } };
  return status.updates;
}

t.test('100 incremental updates and two full resyncs through the store: no isolated probe passes', async (t) => {
  t.comment(`seed ${seed} (replay with BERTH_ATOMICITY_SEED)`);
  const client = cluster.pod('y', 'a');
  const isolated = cluster.pod('x', 'b');
  const allowed = cluster.pod('z', 'c');
  await cluster.apply([
    isolate(isolated, 'isolate'),
    netpol('z', 'allow-a', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80 }, { port: echoPort }] }] }),
  ]);
  for (let index = 0; index < churnEndpoints; index += 1) {
    await (cluster.hosts[index % 3] as BerthdHost).api('POST', '/v1/endpoints', churnRecord(index, { pod: index % 3 === 0 ? 'friend' : 'other', role: index % 2 === 0 ? 'a' : 'b' }));
  }
  await cluster.converge(w2);
  t.same([await client.agent.probe(isolated.ip, 80, 'tcp', probeOnceTimeoutMs), await client.agent.probe(allowed.ip, 80, 'tcp', probeOnceTimeoutMs)], [false, true],
    'before: y/a (m1) cannot reach x/b (w1) and reaches z/c (w2)');
  const flow = establishedFlow(t, client.netns.path, { ip: allowed.ip, netnsPath: allowed.netns.path }, echoPort);
  for (let attempt = 0; attempt < 100 && flow.stats().echoes === 0; attempt += 1) await sleep(50);
  t.ok(flow.stats().echoes > 0, 'an established connection y/a -> z/c carries data before the updates');
  const before = await Promise.all(cluster.hosts.map(updatesOf));

  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const visible: Record<string, number[]> = { policy: [], endpoint: [], resync: [] };
  const appliedOnHost: Record<string, number[]> = { policy: [], endpoint: [] };
  const echoesBefore = flow.stats().echoes;
  const counts = await probedDuring(t, client, { isolated, allowed }, async () => {
    const resynced = new Set<number>();
    for (let index = 0, applied = 0; applied < updateCount && index < updateAttemptsMax; index += 1) {
      const started = process.hrtime.bigint();
      if (resyncAt.has(applied) && !resynced.has(applied)) {
        resynced.add(applied);
        await Promise.all(cluster.hosts.map((host) => host.api('POST', '/v1/policies/resync', {})));
        visible['resync']?.push(Number(process.hrtime.bigint() - started) / 1e6);
        continue;
      }
      const kind = Math.floor(next() * 8);
      const writer = kind < 4 ? m1 : pick(cluster.hosts);
      let answer: { appliedMs: number };
      if (kind === 0) answer = await m1.api('POST', '/v1/policies', { text: JSON.stringify(isolate(isolated, `extra${index % 5}`, pick([80, 81, 443]))) }) as typeof answer;
      else if (kind === 1) answer = await m1.api('POST', '/v1/policies', { text: JSON.stringify(netpol('z', `more${index % 3}`, { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: pick(['a', 'b']) } } }] }] })) }) as typeof answer;
      else if (kind === 2) {
        answer = await m1.api('POST', '/v1/policies', { text: JSON.stringify(anp(`anp${index % 2}`, { priority: 10 + (index % 2), subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: 'b' } } } }, ingress: [{ action: pick(['Deny', 'Pass']), from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } } }] }] })) }) as typeof answer;
      } else if (kind === 3) {
        const { documents } = await m1.api('GET', '/v1/policies') as { documents: Array<{ kind: string; metadata: { name: string; namespace?: string } }> };
        const removable = documents.filter((document) => /^(extra|more|anp)/.test(document.metadata.name));
        const victim = removable[Math.floor(next() * removable.length)];
        if (victim === undefined) continue;
        const key = victim.kind === 'NetworkPolicy' ? `NetworkPolicy/${victim.metadata.namespace}/${victim.metadata.name}` : `${victim.kind}/${victim.metadata.name}`;
        answer = await m1.api('DELETE', `/v1/policies/${encodeURIComponent(key)}`) as typeof answer;
      } else if (kind === 4) answer = await writer.api('POST', '/v1/endpoints', churnRecord(cluster.hosts.indexOf(writer) + 3 * Math.floor(next() * (churnEndpoints / 3)), { pod: pick(['friend', 'other']), role: pick(['a', 'b']) })) as typeof answer;
      else if (kind === 5) {
        const churn = cluster.hosts.indexOf(writer) + 3 * Math.floor(next() * (churnEndpoints / 3));
        await writer.api('DELETE', `/v1/endpoints/attachments/churn${churn}/eth0`);
        answer = { appliedMs: Number(process.hrtime.bigint() - started) / 1e6 };
      } else if (kind === 6) answer = await w1.api('POST', '/v1/endpoints', endpointRecord(isolated, { pod: 'b', rev: String(index), role: pick(['a', 'b']) })) as typeof answer;
      else answer = await m1.api('POST', '/v1/endpoints', endpointRecord(client, { pod: 'a', rev: String(index) })) as typeof answer;
      const what = kind < 4 ? 'policy' : 'endpoint';
      appliedOnHost[what]?.push(answer.appliedMs);
      await cluster.converge(kind === 6 ? w1 : kind >= 4 && kind !== 7 ? writer : m1);
      visible[what]?.push(Number(process.hrtime.bigint() - started) / 1e6);
      applied += 1;
    }
  });
  const after = await Promise.all(cluster.hosts.map(updatesOf));
  const stats = flow.stats();
  t.comment(`policy change: applied on m1 median ${median(appliedOnHost['policy'] ?? []).toFixed(1)} ms, on all three hosts median ${median(visible['policy'] ?? []).toFixed(1)} ms (${visible['policy']?.length} changes)`);
  t.comment(`endpoint change: applied on its host median ${median(appliedOnHost['endpoint'] ?? []).toFixed(1)} ms, on all three hosts median ${median(visible['endpoint'] ?? []).toFixed(1)} ms (${visible['endpoint']?.length} changes)`);
  t.comment(`full resync of all three hosts through the store: ${(visible['resync'] ?? []).map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
  t.comment(`established flow: ${stats.echoes - echoesBefore} echoes during the run, longest silence ${stats.gapMsMax} ms`);
  for (const [index, host] of cluster.hosts.entries()) {
    const full = (after[index]?.full ?? 0) - (before[index]?.full ?? 0);
    t.equal(full, resyncAt.size, `${host.host.name}: only the two resyncs rebuilt the table (${(after[index]?.incremental ?? 0) - (before[index]?.incremental ?? 0)} deltas)`);
  }
  t.equal((visible['policy']?.length ?? 0) + (visible['endpoint']?.length ?? 0), updateCount, `${updateCount} updates went through the store`);
  checkCounts(t, counts, 'updates', updateCount * 2);
  t.ok(stats.echoes - echoesBefore > 50, 'the established connection carried data throughout');
  t.ok(stats.gapMsMax < 1_000, `and never went silent for a second (longest silence ${stats.gapMsMax} ms)`);
  await cluster.reset();
});

t.test('SIGKILL of a berthd: its host keeps enforcing; restarted, it converges with no window', async (t) => {
  const client = cluster.pod('y', 'b');
  const isolated = cluster.pod('x', 'b');
  const allowed = cluster.pod('z', 'b');
  const later = await cluster.addPod('x', 'e', 1);
  await cluster.apply([isolate(isolated)]);
  const counts = await probedDuring(t, client, { isolated, allowed }, async () => {
    w1.kill('SIGKILL');
    await w1.exited();
    t.pass('w1\'s berthd is dead');
    await sleep(500);
    t.equal(await client.agent.probe(isolated.ip, 80, 'tcp', probeOnceTimeoutMs), false, 'with berthd dead, the kernel rules stay: x/b is still isolated on w1');
    const tried = await createTestNetns(uniqueName('pptry'));
    t.teardown(() => tried.remove());
    const refused = await cluster.tryExecAdd(1, 'pol-tried', tried.path) as PluginCallError | undefined;
    t.match(refused?.outcome.json, { code: 11, msg: /registers endpoints through berthd, which does not answer/ }, 'an exec\'d berth-firewall ADD on w1 fails closed (CNI code 11): it never falls back to the state files');
    t.notOk(existsSync(join(w1.root, 'firewall', 'endpoints.json')), 'and wrote no local state');
    await cluster.apply([isolate(later, 'iso-later')], [m1, w2]);
    t.equal(await client.agent.probe(later.ip, 80, 'tcp', probeOnceTimeoutMs), true, 'while berthd is dead, w1 keeps the last state (x/e, on w1, not yet isolated there)');
    const restarted = process.hrtime.bigint();
    await w1.start();
    await cluster.waitEnforcing([w1]);
    await cluster.converge(m1, [w1]);
    await cluster.execDel(1, 'pol-tried', tried.path);
    t.comment(`w1 restarted and enforcing the current store state after ${(Number(process.hrtime.bigint() - restarted) / 1e6).toFixed(0)} ms`);
  });
  checkCounts(t, counts, 'kill and restart', 100);
  const status = await cluster.status(w1);
  t.ok(status.enforcing && status.storeReachable, `w1 converged: ${status.summary}`);
  t.equal(await client.agent.probe(later.ip, 80, 'tcp', probeOnceTimeoutMs), false, 'the change made while w1 was down is enforced there (x/e isolated from y/b)');
  await cluster.removePod(later);
  await cluster.reset();
});

t.test('a partitioned host keeps enforcing the last state, says so, and converges after healing with no window', async (t) => {
  const client = cluster.pod('y', 'c');
  const isolated = cluster.pod('x', 'c');
  const allowed = cluster.pod('z', 'c');
  const extra = await cluster.addPod('x', 'd', 2);
  await cluster.apply([isolate(isolated)]);
  const counts = await probedDuring(t, client, { isolated, allowed }, async () => {
    cluster.topology.partition(w2.host);
    const cut = Date.now();
    let status = await cluster.status(w2);
    while (status.storeReachable && Date.now() - cut < unreachableWaitMsMax) {
      await sleep(100);
      status = await cluster.status(w2);
    }
    t.equal(status.storeReachable, false, `w2 notices it lost the store (after ${Date.now() - cut} ms): ${status.summary}`);
    t.match(status.summary, /STALE: the store is unreachable since .*; enforcing the last state/);
    const metrics = await fetchMetrics(w2);
    t.match(metrics, /^berth_policy_store_reachable 0$/m, '/metrics: berth_policy_store_reachable 0');
    t.match(metrics, /^berth_policy_stale_seconds [0-9.]+$/m, '/metrics: berth_policy_stale_seconds');
    const listing = await w2.cli(['cluster', 'ls'], { timeoutMs: 60_000 });
    t.match(listing.stdout, /policy: STALE: the store is unreachable/, `berth cluster ls on w2 says so (exit ${listing.code})`);

    // Meanwhile the cluster changes: x/d (on w2) is isolated, and an admin policy regroups every pod.
    await cluster.apply([isolate(extra), anp('regroup', { priority: 5, subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'zz' } } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] })], [m1, w1]);
    t.equal(await client.agent.probe(extra.ip, 80, 'tcp', probeOnceTimeoutMs), true, 'cut off, w2 still enforces the last state it had (x/d not yet isolated there)');
    t.equal(await client.agent.probe(isolated.ip, 80, 'tcp', probeOnceTimeoutMs), false, 'and what was isolated stays isolated');

    const healed = process.hrtime.bigint();
    cluster.topology.heal(w2.host);
    await cluster.waitEnforcing([w2]);
    await cluster.converge(m1, [w2]);
    t.comment(`w2 converged ${(Number(process.hrtime.bigint() - healed) / 1e6).toFixed(0)} ms after the partition healed`);
  });
  checkCounts(t, counts, 'partition and heal', 100);
  t.equal(await client.agent.probe(extra.ip, 80, 'tcp', probeOnceTimeoutMs), false, 'after healing, w2 enforces the change made during the partition');
  const status = await cluster.status(w2);
  t.ok(status.storeReachable && status.enforcing, `w2: ${status.summary}`);
  // DEL answers once w2's own watch delivers the change: the watches reconnected after the partition, not only a resync.
  const removing = process.hrtime.bigint();
  await cluster.removePod(extra);
  t.comment(`a change after healing reached w2 through its watch in ${(Number(process.hrtime.bigint() - removing) / 1e6).toFixed(0)} ms`);
  await cluster.reset();
});

/** berthd's /metrics is Prometheus text, not JSON: read it over the socket directly. */
async function fetchMetrics(host: BerthdHost): Promise<string> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: host.socket, path: '/metrics', timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
