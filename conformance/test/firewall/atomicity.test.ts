/**
 * Continuous probes prove atomicity, on one host in test namespaces: pods on a bridge, the FirewallEngine
 * enforcing in the host namespace. While 100 incremental updates (policies and endpoints added, changed and
 * removed, several of them moving the isolated pod between groups or rebuilding every group) and two full
 * resyncs run, a prober in the client pod (its own process, so it keeps probing while the engine's synchronous
 * transactions hold this process) opens a new TCP connection to the isolated pod and to the allowed pod every few
 * milliseconds, and an established connection to the allowed pod echoes a message every 10 ms. Not one
 * probe of the isolated pair may pass, not one of the allowed pair may fail, and the established flow must keep
 * answering. The update sequence is seeded (replay with BERTH_ATOMICITY_SEED).
 */
import t from 'tap';
import { FirewallEngine, parseDocuments, type EngineEvent, type EngineResult, type Endpoint, type PolicyDocument } from '@berth/firewall';
import { seededRandom } from '../../src/cluster/workload.js';
import { TestHost } from '../../src/harness/index.js';
import { bridgeWithPods, type BridgePod } from '../../src/netpol/bridge-pods.js';
import { ContinuousProber } from '../../src/netpol/continuous-prober.js';
import { establishedFlow } from '../../src/netpol/established-flow.js';
import { ProbeAgent } from '../../src/netpol/probe-agent.js';

const seed = Number(process.env['BERTH_ATOMICITY_SEED'] ?? Date.now() % 1_000_000);
const updateCount = 100;
/** Updates that turn out to change nothing in the kernel (a relabel no selector sees) do not count; at most this many tries. */
const attemptsMax = 400;
const resyncAt = new Set([33, 66]);
const updateSpacingMs = 25;
const probeEveryMs = 4;
const probeTimeoutMs = 300;
const churnEndpoints = 150;
const echoPort = 90;

function documents(text: readonly object[]): PolicyDocument[] {
  return parseDocuments(text.map((document) => JSON.stringify(document)).join('\n---\n')).map((item) => item.document);
}

function networkPolicy(name: string, subject: string, from: readonly Record<string, string>[], ports: readonly number[]): object {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'x' },
    spec: {
      podSelector: { matchLabels: { pod: subject } },
      ingress: [{ from: from.map((labels) => ({ podSelector: { matchLabels: labels } })), ports: ports.map((port) => ({ port })) }],
    },
  };
}

/** The isolated pod admits only "friend" pods; the allowed pod admits the client on the probe and echo ports. */
const baseDocuments = documents([
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { team: 'blue' } } },
  networkPolicy('isolate', 'isolated', [{ pod: 'friend' }], [80]),
  networkPolicy('allow-client', 'allowed', [{ pod: 'client' }], [80, echoPort]),
]);

function podEndpoint(name: string, pod: BridgePod, labels: Record<string, string> = {}): Endpoint {
  return { namespace: 'x', name, labels: { pod: name, ...labels }, ips: [pod.ip], interface: pod.hostInterface, namedPorts: [] };
}

function churnEndpoint(index: number, labels: Record<string, string>): Endpoint {
  return { namespace: 'x', name: `churn${index}`, labels, ips: [`10.79.${1 + (index >> 8)}.${index & 255}`], interface: `churn${index}`, namedPorts: [] };
}

/**
 * One update. None may admit the client to the isolated pod or stop admitting it to the allowed one; many move
 * the isolated or the allowed pod to another group (a new policy selecting it, a relabel), and admin policies
 * make the compiler rebuild every group.
 */
function update(next: () => number, index: number, pods: { isolated: BridgePod; client: BridgePod }): { what: string; events: EngineEvent[] } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const churn = Math.floor(next() * churnEndpoints);
  const kind = Math.floor(next() * 9);
  switch (kind) {
    case 0:
      return { what: `policy extra${index % 5} on the isolated pod`, events: [{ kind: 'applyDocuments', documents: documents([networkPolicy(`extra${index % 5}`, 'isolated', [{ pod: 'friend' }, { role: pick(['a', 'b']) }], [pick([80, 81, 443])])]) }] };
    case 1:
      return { what: `remove extra${index % 5}`, events: [{ kind: 'removeDocuments', keys: [`NetworkPolicy/x/extra${index % 5}`] }] };
    case 2:
      return { what: `policy more${index % 3} on the allowed pod`, events: [{ kind: 'applyDocuments', documents: documents([networkPolicy(`more${index % 3}`, 'allowed', [{ role: pick(['a', 'b']) }], [80])]) }] };
    case 3:
      return {
        what: `admin policy anp${index % 2}`,
        events: [{ kind: 'applyDocuments', documents: documents([{
          apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: `anp${index % 2}` },
          spec: { priority: 10 + (index % 2), subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: 'b' } } } }, ingress: [{ action: pick(['Deny', 'Pass']), from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'client' } } } }] }] },
        }]) }],
      };
    case 4:
      return { what: `remove churn${churn}`, events: [{ kind: 'removeEndpoint', key: `x/churn${churn}` }] };
    case 5:
      return { what: `relabel the isolated pod rev=${index}`, events: [{ kind: 'upsertEndpoint', endpoint: podEndpoint('isolated', pods.isolated, { rev: String(index), role: pick(['a', 'b']) }) }] };
    case 6:
      return { what: `relabel the client rev=${index}`, events: [{ kind: 'upsertEndpoint', endpoint: podEndpoint('client', pods.client, { rev: String(index) }) }] };
    default:
      return { what: `upsert churn${churn}`, events: [{ kind: 'upsertEndpoint', endpoint: churnEndpoint(churn, { pod: pick(['friend', 'other']), role: pick(['a', 'b']) }) }] };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('no probe of an isolated pair passes while 100 updates and two full resyncs run', async (t) => {
  t.comment(`seed ${seed} (replay with BERTH_ATOMICITY_SEED)`);
  const host = await TestHost.create(t, 'fwatom');
  const [client, isolated, allowed] = (await bridgeWithPods(host, 3, 79)) as [BridgePod, BridgePod, BridgePod];
  const oneShot = await ProbeAgent.start(t, client.netns.path, []);
  await ProbeAgent.start(t, isolated.netns.path, [80]);
  await ProbeAgent.start(t, allowed.netns.path, [80]);
  const churn = Array.from({ length: churnEndpoints }, (_, index) => churnEndpoint(index, { pod: index % 3 === 0 ? 'friend' : 'other', role: index % 2 === 0 ? 'a' : 'b' }));
  const { engine } = FirewallEngine.start({
    documents: baseDocuments,
    endpoints: [podEndpoint('client', client), podEndpoint('isolated', isolated), podEndpoint('allowed', allowed), ...churn],
    monitor: false,
  }, { netns: host.path });
  t.teardown(() => engine.close());

  t.same([await oneShot.probe(isolated.ip, 80, 'tcp', probeTimeoutMs), await oneShot.probe(allowed.ip, 80, 'tcp', probeTimeoutMs)], [false, true],
    'before the updates: the isolated pod drops the client, the allowed pod admits it');
  const flow = establishedFlow(t, client.netns.path, { ip: allowed.ip, netnsPath: allowed.netns.path }, echoPort);
  for (let attempt = 0; attempt < 100 && flow.stats().echoes === 0; attempt += 1) await sleep(50);
  t.ok(flow.stats().echoes > 0, 'the established flow carries data before the updates');

  const prober = await ContinuousProber.start(t, client.netns.path, [
    { name: 'isolated', host: isolated.ip, port: 80 }, { name: 'allowed', host: allowed.ip, port: 80 },
  ], { everyMs: probeEveryMs, timeoutMs: probeTimeoutMs });

  const next = seededRandom(seed);
  const modes = new Map<string, number>();
  const log: string[] = [];
  let counts: Awaited<ReturnType<ContinuousProber['stop']>> = {};
  const echoesBefore = flow.stats().echoes;
  try {
    let applied = 0;
    for (let attempt = 0; applied < updateCount && attempt < attemptsMax; attempt += 1) {
      let result: EngineResult;
      if (resyncAt.has(applied) && !log.some((line) => line === `${applied}: full resync`)) {
        log.push(`${applied}: full resync`);
        result = engine.resync(engine.snapshot());
      } else {
        const { what, events } = update(next, attempt, { isolated, client });
        result = engine.apply(events);
        if (result.mode === 'unchanged') continue;
        log.push(`${applied}: ${what} (${result.mode}, +${result.elementsAdded} -${result.elementsDeleted} elements)`);
        applied += 1;
      }
      modes.set(result.mode, (modes.get(result.mode) ?? 0) + 1);
      await sleep(updateSpacingMs);
    }
  } finally {
    counts = await prober.stop();
  }
  const stats = flow.stats();
  const isolatedCounts = counts['isolated'] ?? { attempts: 0, passed: 0, failed: 0 };
  const allowedCounts = counts['allowed'] ?? { attempts: 0, passed: 0, failed: 0 };
  t.comment(`modes: ${[...modes].map(([mode, count]) => `${mode} ${count}`).join(', ')}; probes: ${isolatedCounts.attempts} isolated, ${allowedCounts.attempts} allowed; established flow: ${stats.echoes - echoesBefore} echoes during the run, longest silence ${stats.gapMsMax} ms`);
  t.equal(modes.get('incremental'), updateCount, `${updateCount} updates went in as deltas`);
  if (!t.equal(modes.get('full'), resyncAt.size, 'only the two resyncs rebuilt the table (no delta was rejected)')) t.comment(log.join('\n'));
  t.ok(isolatedCounts.attempts >= updateCount * 2, `the isolated pair was probed continuously (${isolatedCounts.attempts} probes)`);
  if (!t.equal(isolatedCounts.passed, 0, 'not one probe of the isolated pair passed')) t.comment(log.join('\n'));
  t.equal(allowedCounts.failed, 0, `not one probe of the allowed pair failed (${allowedCounts.attempts} probes)`);
  t.ok(stats.echoes - echoesBefore > (updateCount * updateSpacingMs) / 20, 'the established connection carried data throughout');
  t.ok(stats.gapMsMax < 1_000, `and never went silent for a second (longest silence ${stats.gapMsMax} ms)`);
});
