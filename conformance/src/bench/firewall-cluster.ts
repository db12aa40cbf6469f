/**
 * The firewall's store-driven path, for the firewall benchmark: a three-host cluster (m1 manager, w1 and w2 workers,
 * each a network namespace running berthd), the same endpoints and policies as the CLI-path and engine columns,
 * loaded through the local API into the cluster store. Each change goes through berthd's API on its host: a policy
 * change is applied on the manager, an endpoint registration on a worker (as its CNI ADD would); measured until the
 * writing host enforces it (the API answers after its engine applied the watch event) and until all three hosts do
 * (each host's applied revision of that stream reaches the write's). A full resync lists the store and replaces the
 * table in one transaction.
 */
import type { TeardownRegistry } from '../harness/index.js';
import type { BerthdHost } from '../cluster/berthd-host.js';
import { PolicyCluster } from '../netpol/cluster-topology.js';
import { median } from './result.js';

export interface StoreOperation {
  /** Median until the writing host's kernel enforces the change (wall time of the API call). */
  readonly onHostMs: number;
  /** Median until every host's kernel enforces it. */
  readonly allHostsMs: number;
  /** Medians of the parts berthd reports (policy changes: parse, store reads and transaction, until enforced). */
  readonly parts: Readonly<Record<string, number>>;
}

export interface StoreControlPlane {
  readonly hosts: number;
  readonly loadMs: number;
  readonly policyChange: StoreOperation;
  readonly endpointAdd: StoreOperation;
  readonly fullResyncMs: number;
  /** A full resync once the store holds `endpoints` endpoints (same policies); null when not asked for. */
  readonly largeResync: { readonly endpoints: number; readonly elements: number; readonly ms: number } | null;
}

/** How many registrations run at once while loading (one per host). */
const loadConcurrency = 3;
const documentsPerApply = 100;
const visibleWaitMsMax = 30_000;


const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;

/** Polls every host until its applied revision of `stream` reaches `revision`. */
async function visibleEverywhere(cluster: PolicyCluster, stream: 'policies' | 'endpoints', revision: number): Promise<void> {
  const deadline = Date.now() + visibleWaitMsMax;
  for (const host of cluster.hosts) {
    for (;;) {
      const applied = (await cluster.status(host)).revisions?.[stream] ?? 0;
      if (applied >= revision) break;
      if (Date.now() > deadline) throw new Error(`${host.host.name} did not apply ${stream} revision ${revision} within ${visibleWaitMsMax} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

async function measured(cluster: PolicyCluster, stream: 'policies' | 'endpoints', write: () => Promise<{ revision: number; timings?: Record<string, number> }>): Promise<StoreOperation> {
  const started = process.hrtime.bigint();
  const { revision, timings } = await write();
  const onHostMs = elapsedMs(started);
  await visibleEverywhere(cluster, stream, revision);
  return { onHostMs, allHostsMs: elapsedMs(started), parts: timings ?? {} };
}

export async function storeControlPlane(registry: TeardownRegistry, input: {
  endpoints: readonly object[]; documents: readonly object[]; changedPolicy: (run: number) => object; extraEndpoint: (run: number) => object; repeats: number;
  /** Endpoints added after the measurements, for a full resync at a larger scale (none: skipped). */
  largeEndpoints: readonly object[];
}): Promise<StoreControlPlane> {
  const cluster = await PolicyCluster.create(registry, { pods: false });
  const [m1, w1] = cluster.hosts as [BerthdHost, BerthdHost];
  const loading = process.hrtime.bigint();
  await register(cluster, input.endpoints);
  for (let start = 0; start < input.documents.length; start += documentsPerApply) {
    const text = input.documents.slice(start, start + documentsPerApply).map((document) => JSON.stringify(document)).join('\n---\n');
    await m1.api('POST', '/v1/policies', { text });
  }
  await cluster.converge();
  const loadMs = elapsedMs(loading);
  const policy: StoreOperation[] = [];
  const endpoint: StoreOperation[] = [];
  for (let run = 0; run < input.repeats * 2; run += 1) {
    policy.push(await measured(cluster, 'policies', () => m1.api('POST', '/v1/policies', { text: JSON.stringify(input.changedPolicy(run)) }) as Promise<{ revision: number; timings: Record<string, number> }>));
    endpoint.push(await measured(cluster, 'endpoints', () => w1.api('POST', '/v1/endpoints', input.extraEndpoint(run)) as Promise<{ revision: number }>));
  }
  const resyncs: number[] = [];
  for (let run = 0; run < input.repeats; run += 1) resyncs.push((await timedResync(w1)).ms);
  let largeResync: StoreControlPlane['largeResync'] = null;
  if (input.largeEndpoints.length > 0) {
    await register(cluster, input.largeEndpoints);
    await cluster.converge();
    const large: Array<{ ms: number; elements: number }> = [];
    for (let run = 0; run < input.repeats; run += 1) large.push(await timedResync(w1));
    largeResync = { endpoints: input.endpoints.length + input.largeEndpoints.length, elements: large[0]?.elements ?? Number.NaN, ms: median(large.map((item) => item.ms)) };
  }
  const summary = (items: readonly StoreOperation[]): StoreOperation => ({
    onHostMs: median(items.map((item) => item.onHostMs)), allHostsMs: median(items.map((item) => item.allHostsMs)),
    parts: Object.fromEntries(Object.keys(items[0]?.parts ?? {}).map((name) => [name, median(items.map((item) => item.parts[name] ?? 0))])),
  });
  return { hosts: cluster.hosts.length, loadMs, policyChange: summary(policy), endpointAdd: summary(endpoint), fullResyncMs: median(resyncs), largeResync };
}

/** Registers the endpoints through the local API, spread over the hosts, `loadConcurrency` at a time. */
async function register(cluster: PolicyCluster, endpoints: readonly object[]): Promise<void> {
  const queue = [...endpoints];
  await Promise.all(Array.from({ length: loadConcurrency }, async (_, worker) => {
    const host = cluster.hosts[worker % cluster.hosts.length] as BerthdHost;
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await host.api('POST', '/v1/endpoints', item);
  }));
}

async function timedResync(host: BerthdHost): Promise<{ ms: number; elements: number }> {
  const started = process.hrtime.bigint();
  const answer = await host.api('POST', '/v1/policies/resync', {}) as { elementsAdded: number };
  return { ms: elapsedMs(started), elements: answer.elementsAdded };
}
