/**
 * Firewall benchmark, all in one run, inside test network namespaces (nothing in the root namespace):
 *   control plane: 1 000 endpoints and 1 000 NetworkPolicies (each pod selected by its own policy, each policy
 *     allowing ~150 peers on two ports: a worst case for the pair-wise tables), through the CLI path (no agent:
 *     lock, state files, compile, transaction, record) and through the FirewallEngine (berthd's: state and table in
 *     memory); time of the first apply, a full resync, one policy change, one endpoint registration (a pod ~400
 *     groups select as a peer) and removal, each with where its time went; and the engine's full resync of
 *     10 000 endpoints;
 *   the same through the cluster store (firewall-cluster.ts): three hosts running berthd, a policy change applied on
 *     the manager and an endpoint registration on a worker, until enforced on that host and on all three;
 *   full apply at three sizes (100, 1 000, 10 000 endpoints and as many policies): the engine's first apply and full
 *     resync, interleaved with installing an equivalent linear list of as many rules;
 *   data plane: two containers on a bridge; iperf3 throughput and sequential new TCP connections per second with
 *     no table, a table holding only the conntrack rule, Berth's table holding 0 policies, and at 100, 1 000 and
 *     10 000 policies Berth's table and an equivalent linear list of as many rules (the iptables-style design) after
 *     a conntrack shortcut; and the largest list evaluated for every packet.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/firewall.js [--quick] [--only control|data] [--repeats N] [--result FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRtnl } from '@berth/cni';
import { Firewall, FirewallEngine, parseDocuments, type ChangeResult, type EndpointRecord, type EngineResult, type PolicyDocument } from '@berth/firewall';
import { Nft, type NftCommand } from '@berth/nftables-napi';
import { TestHost, type TestNetns } from '../harness/index.js';
import { benchEntry, numberArg, stringArg } from './cli.js';
import { storeControlPlane, type StoreControlPlane } from './firewall-cluster.js';
import { median, sideMeasurements, type Measurement } from './result.js';
import { interleaved } from './rounds.js';

export interface FirewallBenchOptions {
  readonly endpoints: number;
  readonly policies: number;
  /** Endpoints of the engine's large full resync (same policies). */
  readonly largeEndpoints: number;
  /** Policy counts of the data plane's Berth and linear-list variants (growth shows across them). */
  readonly dataplanePolicies: readonly number[];
  /** Endpoint counts (one policy per pod) of the full-apply series. */
  readonly applySizes: readonly number[];
  /** The store-driven path (three berthd hosts); off in --quick. */
  readonly storePath: boolean;
  /** 0: no throughput runs (--quick: the charts need only connections/s). */
  readonly iperfSeconds: number;
  readonly connectSeconds: number;
  readonly repeats: number;
  readonly parts: readonly ('control' | 'data')[];
}

export const defaultFirewallBenchOptions: FirewallBenchOptions = {
  endpoints: 1_000, policies: 1_000, largeEndpoints: 10_000, dataplanePolicies: [100, 1_000, 10_000], applySizes: [100, 1_000, 10_000],
  storePath: true, iperfSeconds: 3, connectSeconds: 2, repeats: 3, parts: ['control', 'data'],
};

const quickOptions: FirewallBenchOptions = {
  endpoints: 200, policies: 200, largeEndpoints: 2_000, dataplanePolicies: [10, 100, 1_000], applySizes: [50, 200, 1_000],
  storePath: false, iperfSeconds: 0, connectSeconds: 0.3, repeats: 2, parts: ['control', 'data'],
};

/**
 * One operation: its median wall time, its median CPU time (user + system of this process: what the operation
 * costs when the machine is not shared), and the medians of its parts (ms).
 */
export interface Operation {
  readonly ms: number;
  readonly cpuMs: number;
  readonly parts: Readonly<Record<string, number>>;
  readonly detail: string;
}

export interface ControlPlaneReport {
  readonly endpoints: number;
  readonly policies: number;
  readonly elements: number;
  readonly cli: Readonly<Record<'firstApply' | 'fullResync' | 'policyChange' | 'endpointAdd', Operation>>;
  readonly engine: Readonly<Record<'start' | 'fullResync' | 'policyChange' | 'endpointAdd' | 'endpointRemove', Operation>>;
  readonly largeResync: Operation & { readonly endpoints: number; readonly elements: number };
  /** The store-driven path (three hosts, berthd); null when it could not run (the error is printed) or was off. */
  readonly store: StoreControlPlane | null;
  /** The engine's full apply (start) and full resync at each size: endpoints = policies, per-round times (ms). */
  readonly applyBySize: readonly { readonly endpoints: number; readonly startMs: readonly number[]; readonly resyncMs: readonly number[]; readonly linearMs: readonly number[] }[];
}

export interface DataPlaneSample {
  readonly variant: string;
  /** Berth's table or the linear list at a policy count; undefined for the baselines. */
  readonly design: 'Berth' | 'linear rules, conntrack first' | 'linear rules, every packet' | undefined;
  readonly policies: number | undefined;
  readonly gbitPerSecond: number;
  readonly connectionsPerSecond: number;
  /** Per round (the variants are measured round-robin). */
  readonly gbitPerRound: readonly number[];
  readonly connectionsPerRound: readonly number[];
}

export interface FirewallBenchReport {
  readonly options: FirewallBenchOptions;
  readonly controlPlane: ControlPlaneReport | null;
  readonly dataPlane: readonly DataPlaneSample[];
}

const namespaceCount = 10;

/** 1 000 pods over 10 namespaces: labels app=appJ (unique in its namespace), role=roleJ%5, tier=tJ%3. */
export function benchEndpoints(count: number): EndpointRecord[] {
  const perNamespace = Math.ceil(count / namespaceCount);
  return Array.from({ length: count }, (_, index) => {
    const namespace = Math.floor(index / perNamespace);
    const local = index % perNamespace;
    return {
      namespace: `ns${namespace}`, name: `pod${local}`, labels: { app: `app${local}`, role: `role${local % 5}`, tier: `t${local % 3}` },
      ips: [`10.100.${index >> 8}.${index & 255}`], interface: `veth${index}`, namedPorts: [{ name: 'metrics', port: 9090, protocol: 'TCP' }],
      network: 'bench', containerId: `bench-${index}`, ifName: 'eth0',
    };
  });
}

/** Policy i selects app=app(i/10 mod perNamespace) in ns(i mod 10): with 1 000 of each, one policy per pod. */
export function benchPolicies(count: number, endpoints: number, port = 8080): object[] {
  const perNamespace = Math.ceil(endpoints / namespaceCount);
  const documents: object[] = Array.from({ length: namespaceCount }, (_, index) => ({
    apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${index}`, labels: { team: `t${index % 3}` } },
  }));
  for (let index = 0; index < count; index += 1) {
    documents.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${index}`, namespace: `ns${index % namespaceCount}` },
      spec: {
        podSelector: { matchLabels: { app: `app${Math.floor(index / namespaceCount) % perNamespace}` } },
        ingress: [{
          from: [{ podSelector: { matchLabels: { role: `role${index % 5}` } } }, { namespaceSelector: { matchLabels: { team: `t${index % 3}` } }, podSelector: { matchLabels: { tier: 't0' } } }],
          ports: [{ port: index === 0 ? port : 8080 + (index % 3) }, { port: 'metrics' }],
        }],
      },
    });
  }
  return documents;
}

const yamlOf = (documents: readonly object[]): string => documents.map((document) => JSON.stringify(document)).join('\n---\n');


/** The median time and the median of each part over the samples. */
function operation(samples: readonly Sample[]): Operation {
  const names = Object.keys(samples[0]?.parts ?? {});
  return {
    ms: median(samples.map((sample) => sample.ms)),
    cpuMs: median(samples.map((sample) => sample.cpuMs)),
    parts: Object.fromEntries(names.map((name) => [name, median(samples.map((sample) => sample.parts[name] ?? 0))])),
    detail: samples[samples.length - 1]?.detail ?? '',
  };
}

interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  readonly parts: Record<string, number>;
  readonly detail: string;
}

interface Timed<T> {
  readonly value: T;
  readonly ms: number;
  readonly cpuMs: number;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<Timed<T>> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

function cliSample(result: Timed<ChangeResult<unknown>>): Sample {
  const { timings, enforcement } = result.value;
  return {
    ms: result.ms,
    cpuMs: result.cpuMs,
    parts: {
      'state load': timings.loadMs, compile: timings.compileMs, render: enforcement.timings.renderMs, nft: enforcement.timings.nftMs,
      'nft user': enforcement.timings.nftUserMs, 'nft system': enforcement.timings.nftSystemMs, 'state save': timings.saveMs,
    },
    detail: `${enforcement.mode}, +${enforcement.elementsAdded} -${enforcement.elementsDeleted} elements`,
  };
}

function engineSample(result: Timed<EngineResult>): Sample {
  const { timings } = result.value;
  return {
    ms: result.ms,
    cpuMs: result.cpuMs,
    parts: { compile: timings.compileMs, render: timings.renderMs, nft: timings.nftMs, 'nft user': timings.nftUserMs, 'nft system': timings.nftSystemMs },
    detail: `${result.value.mode}, +${result.value.elementsAdded} -${result.value.elementsDeleted} elements`,
  };
}

/** Endpoints `from`..`to` of a `to`-pod set, under names and addresses of their own (added to a loaded store). */
function bulkEndpoints(from: number, to: number): EndpointRecord[] {
  return benchEndpoints(to).slice(from).map((endpoint, index) => ({
    ...endpoint, name: `bulk${from + index}`, ips: [`10.102.${(from + index) >> 8}.${(from + index) & 255}`], containerId: `bulk-${from + index}`,
  }));
}

/** A pod with the labels of pod 0 of ns0 at a fresh address: selected by policy p0, a peer of ~400 groups. */
function extraEndpoint(run: number): EndpointRecord {
  return { ...benchEndpoints(1)[0] as EndpointRecord, name: `extra${run}`, ips: [`10.101.0.${run + 1}`], containerId: `extra-${run}`, labels: { app: 'app0', role: 'role0', tier: 't0' } };
}

/** Policy p10 with its port flipped between two values: a change to one group. */
function changedPolicy(run: number, endpoints: number): object {
  return benchPolicies(1, endpoints, run % 2 === 0 ? 7000 : 8080)[namespaceCount] as object;
}

function parsed(documents: readonly object[]): PolicyDocument[] {
  return parseDocuments(yamlOf(documents)).map((item) => item.document);
}

async function cliControlPlane(host: TestNetns, options: FirewallBenchOptions, cleanup: (() => unknown)[]): Promise<ControlPlaneReport['cli'] & { elements: number }> {
  const root = mkdtempSync(join(tmpdir(), 'bt-fwbench-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const firewall = new Firewall({ root, netns: host.path });
  await firewall.registerEndpoints(benchEndpoints(options.endpoints));
  const first = cliSample(await timed(() => firewall.apply(yamlOf(benchPolicies(options.policies, options.endpoints)))));
  const resyncs = [];
  for (let run = 0; run < options.repeats; run += 1) resyncs.push(cliSample(await timed(() => firewall.resync())));
  const changes = [];
  for (let run = 0; run < options.repeats * 2; run += 1) changes.push(cliSample(await timed(() => firewall.apply(yamlOf([changedPolicy(run, options.endpoints)])))));
  const adds = [];
  for (let run = 0; run < options.repeats; run += 1) adds.push(cliSample(await timed(() => firewall.registerEndpoint(extraEndpoint(run)))));
  await firewall.disable();
  const elements = Number(/\+(\d+)/.exec(resyncs[0]?.detail ?? '')?.[1] ?? Number.NaN);
  return { firstApply: first, fullResync: operation(resyncs), policyChange: operation(changes), endpointAdd: operation(adds), elements };
}

async function engineControlPlane(host: TestNetns, options: FirewallBenchOptions): Promise<ControlPlaneReport['engine']> {
  const documents = parsed(benchPolicies(options.policies, options.endpoints));
  const snapshot = { documents, endpoints: benchEndpoints(options.endpoints), monitor: false };
  const started = await timed(() => FirewallEngine.start(snapshot, { netns: host.path }));
  const { engine } = started.value;
  try {
    const resyncs = [];
    for (let run = 0; run < options.repeats; run += 1) resyncs.push(engineSample(await timed(() => engine.resync(snapshot))));
    const changes = [];
    for (let run = 0; run < options.repeats * 2; run += 1) changes.push(engineSample(await timed(() => engine.applyDocuments(parsed([changedPolicy(run, options.endpoints)])))));
    const adds = [];
    const removes = [];
    for (let run = 0; run < options.repeats * 2; run += 1) adds.push(engineSample(await timed(() => engine.upsertEndpoint(extraEndpoint(run)))));
    for (let run = 0; run < options.repeats * 2; run += 1) removes.push(engineSample(await timed(() => engine.removeEndpoint(`ns0/extra${run}`))));
    return {
      start: engineSample({ ...started, value: started.value.result }), fullResync: operation(resyncs), policyChange: operation(changes),
      endpointAdd: operation(adds), endpointRemove: operation(removes),
    };
  } finally {
    engine.close();
  }
}

async function largeResync(host: TestNetns, options: FirewallBenchOptions): Promise<ControlPlaneReport['largeResync']> {
  const snapshot = { documents: parsed(benchPolicies(options.policies, options.largeEndpoints)), endpoints: benchEndpoints(options.largeEndpoints), monitor: false };
  const { engine } = FirewallEngine.start(snapshot, { netns: host.path });
  try {
    const samples = [];
    for (let run = 0; run < options.repeats; run += 1) samples.push(engineSample(await timed(() => engine.resync(snapshot))));
    const last = samples[samples.length - 1];
    return { ...operation(samples), endpoints: options.largeEndpoints, elements: Number(/\+(\d+)/.exec(last?.detail ?? '')?.[1] ?? Number.NaN) };
  } finally {
    engine.close();
  }
}

/**
 * Berth's engine against the iptables-style list at growing sizes (endpoints = policies, one per pod): the engine's
 * first apply, then rounds of its full resync (the whole table in one transaction) interleaved with installing the
 * equivalent linear list of as many rules in one transaction (removed again after each round, untimed).
 */
async function applyBySize(registry: { teardown(fn: () => unknown): void }, options: FirewallBenchOptions): Promise<ControlPlaneReport['applyBySize']> {
  const rows: ControlPlaneReport['applyBySize'][number][] = [];
  for (const endpoints of options.applySizes) {
    const host = await TestHost.create(registry, 'fwbench');
    const snapshot = { documents: parsed(benchPolicies(endpoints, endpoints)), endpoints: benchEndpoints(endpoints), monitor: false };
    const started = await timed(() => FirewallEngine.start(snapshot, { netns: host.path }));
    const { engine } = started.value;
    const nft = new Nft({ netns: host.path });
    try {
      const linearApply = async (): Promise<number> => {
        const installed = await timed(() => nft.run(linearRules(endpoints, true)));
        nft.run([{ delete: { table: { family: 'inet', name: 'bt-linear' } } }]);
        return installed.ms;
      };
      const [resyncMs, linearMs] = await interleaved(['berth', 'linear'] as const, { rounds: options.repeats, warmups: 1 },
        async (side) => side === 'berth' ? (await timed(() => engine.resync(snapshot))).ms : linearApply());
      rows.push({ endpoints, startMs: [started.ms], resyncMs: resyncMs ?? [], linearMs: linearMs ?? [] });
    } finally {
      nft.close();
      engine.close();
    }
  }
  return rows;
}

async function controlPlane(registry: { teardown(fn: () => unknown): void }, options: FirewallBenchOptions, cleanup: (() => unknown)[]): Promise<ControlPlaneReport> {
  const cli = await cliControlPlane(await TestHost.create(registry, 'fwbench'), options, cleanup);
  const engine = await engineControlPlane(await TestHost.create(registry, 'fwbench'), options);
  const large = await largeResync(await TestHost.create(registry, 'fwbench'), options);
  const { elements, ...cliOperations } = cli;
  const bySize = await applyBySize(registry, options);
  const store = !options.storePath ? null : await storeControlPlane(registry, {
    endpoints: benchEndpoints(options.endpoints), documents: benchPolicies(options.policies, options.endpoints), repeats: options.repeats,
    changedPolicy: (run) => changedPolicy(run, options.endpoints), extraEndpoint, largeEndpoints: bulkEndpoints(options.endpoints, options.largeEndpoints),
  }).catch((error: unknown) => {
    process.stderr.write(`firewall bench: the store-driven path failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return null;
  });
  return { endpoints: options.endpoints, policies: options.policies, elements, cli: cliOperations, engine, largeResync: large, store, applyBySize: bySize };
}

/** The iptables-style equivalent: one rule per (peer, subject, port), walked in order. */
function linearRules(count: number, conntrackFirst: boolean): NftCommand[] {
  const table = { family: 'inet' as const, table: 'bt-linear' };
  const commands: NftCommand[] = [
    { add: { table: { family: 'inet', name: 'bt-linear' } } },
    { add: { chain: { ...table, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } } },
  ];
  if (conntrackFirst) commands.push({ add: { rule: { ...table, chain: 'forward', expr: [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }] } } });
  for (let index = 0; index < count; index += 1) {
    commands.push({
      add: {
        rule: {
          ...table, chain: 'forward', expr: [
            { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: `10.100.${index >> 8 & 255}.${index & 255}` } },
            { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: `10.101.${index >> 8 & 255}.${index & 255}` } },
            { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8080 } },
            { accept: null },
          ],
        },
      },
    });
  }
  return commands;
}

const connectLoop = String.raw`
import net from 'node:net';
const [host, port, seconds] = process.argv.slice(1); const end = Date.now() + Number(seconds) * 1000; let count = 0;
const next = () => { if (Date.now() >= end) { process.stdout.write(String(count / Number(seconds))); return; }
  const s = net.connect({ host, port: Number(port) }, () => { count += 1; s.destroy(); next(); }); s.on('error', () => { s.destroy(); next(); }); };
next();`;

interface Pair {
  readonly host: TestHost;
  readonly client: TestNetns;
  readonly server: TestNetns;
  readonly clientIp: string;
  readonly serverIp: string;
}

/** A host namespace with a bridge and two containers on it; the server runs iperf3 and a TCP accept loop. */
async function createPair(registry: { teardown(fn: () => unknown): void }, cleanup: (() => unknown)[]): Promise<Pair> {
  const host = await TestHost.create(registry, 'fwbench');
  const rtnl = openRtnl(host.path);
  cleanup.push(() => rtnl.close());
  await rtnl.links.ensureBridge({ name: 'br0', up: true });
  const members: TestNetns[] = [];
  for (const [index, name] of ['client', 'server'].entries()) {
    const netns = await host.addNetns(name);
    await rtnl.links.createVeth({ name: `vb-${name}`, master: 'br0', up: true, peer: { name: 'eth0', netnsPath: netns.path } });
    const inside = openRtnl(netns.path);
    try {
      await inside.links.setUp('lo');
      await inside.links.setUp('eth0');
      await inside.addresses.add('eth0', `10.200.0.${index + 2}/24`);
    } finally {
      inside.close();
    }
    members.push(netns);
  }
  const [client, server] = members as [TestNetns, TestNetns];
  // Many short connections from one client: reuse TIME_WAIT ports and widen the range (in the client's own netns).
  await client.execChecked(['sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=10000 65000']);
  const servers: ChildProcess[] = [
    spawn('nsenter', [`--net=${server.path}`, '--', 'iperf3', '-s'], { stdio: 'ignore' }),
    spawn('nsenter', [`--net=${server.path}`, '--', process.execPath, '-e', "require('net').createServer((s) => s.destroy()).listen(5300)"], { stdio: 'ignore' }),
  ];
  cleanup.push(() => servers.forEach((child) => { if (child.exitCode === null) child.kill(); }));
  return { host, client, server, clientIp: '10.200.0.2', serverIp: '10.200.0.3' };
}

async function iperfGbit(pair: Pair, seconds: number): Promise<number> {
  const output = await pair.client.execChecked(['iperf3', '-c', pair.serverIp, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  const result = JSON.parse(output) as { end?: { sum_received?: { bits_per_second?: number } } };
  return (result.end?.sum_received?.bits_per_second ?? 0) / 1e9;
}

async function connectRate(pair: Pair, seconds: number): Promise<number> {
  const output = await pair.client.execChecked([process.execPath, '--input-type=module', '-e', connectLoop, pair.serverIp, '5300', String(seconds)],
    { timeoutMs: (seconds + 20) * 1000 });
  return Number(output);
}

interface Variant {
  readonly name: string;
  readonly design?: DataPlaneSample['design'];
  readonly policies?: number;
  readonly install: (pair: Pair) => Promise<void>;
}

/**
 * One container pair per variant, all built and configured first, then measured round-robin (`repeats` rounds),
 * so drifting load on this small machine hits every variant alike; medians are reported.
 */
async function dataPlane(registry: { teardown(fn: () => unknown): void }, options: FirewallBenchOptions, cleanup: (() => unknown)[]): Promise<DataPlaneSample[]> {
  const berth = (policies: number) => async (pair: Pair): Promise<void> => {
    const root = mkdtempSync(join(tmpdir(), 'bt-fwbench-dp-'));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const firewall = new Firewall({ root, netns: pair.host.path });
    await firewall.registerEndpoints([['client', pair.clientIp], ['server', pair.serverIp]].map(([name, ip]) => ({
      namespace: 'bench', name: name as string, labels: { role: name as string }, ips: [ip as string], interface: `vb-${name}`, namedPorts: [],
      network: 'bench', containerId: name as string, ifName: 'eth0',
    })));
    if (policies === 0) return;
    await firewall.registerEndpoints(benchEndpoints(options.endpoints));
    const isolateServer = {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'server', namespace: 'bench' },
      spec: { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] },
    };
    await firewall.apply(yamlOf([...benchPolicies(policies - 1, options.endpoints), isolateServer]));
  };
  const linear = (rules: number, conntrackFirst: boolean) => async (pair: Pair): Promise<void> => {
    const nft = new Nft({ netns: pair.host.path });
    try {
      nft.run(linearRules(rules, conntrackFirst));
    } finally {
      nft.close();
    }
  };
  const conntrackOnly = async (pair: Pair): Promise<void> => {
    const nft = new Nft({ netns: pair.host.path });
    try {
      nft.run(linearRules(0, true));
    } finally {
      nft.close();
    }
  };
  const largest = Math.max(...options.dataplanePolicies);
  const variants: Variant[] = [
    { name: 'no firewall table', install: async () => {} },
    { name: 'conntrack rule only', install: conntrackOnly },
    { name: 'Berth, 0 policies', install: berth(0) },
    ...options.dataplanePolicies.flatMap((policies): Variant[] => [
      { name: `Berth, ${policies} policies`, design: 'Berth', policies, install: berth(policies) },
      { name: `linear ${policies} rules, conntrack first`, design: 'linear rules, conntrack first', policies, install: linear(policies, true) },
    ]),
    { name: `linear ${largest} rules, every packet`, design: 'linear rules, every packet', policies: largest, install: linear(largest, false) },
  ];
  const pairs: Pair[] = [];
  for (const variant of variants) {
    const pair = await createPair(registry, cleanup);
    await variant.install(pair);
    pairs.push(pair);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const throughputs = variants.map(() => [] as number[]);
  const rates = variants.map(() => [] as number[]);
  const throughput = options.iperfSeconds > 0;
  for (const pair of pairs) await (throughput ? iperfGbit(pair, 1) : connectRate(pair, options.connectSeconds));
  for (let round = 0; round < options.repeats; round += 1) {
    for (const [index, pair] of pairs.entries()) {
      if (throughput) throughputs[index]?.push(await iperfGbit(pair, options.iperfSeconds));
      rates[index]?.push(await connectRate(pair, options.connectSeconds));
    }
  }
  return variants.map((variant, index) => ({
    variant: variant.name, design: variant.design, policies: variant.policies, gbitPerSecond: median(throughputs[index] ?? []), connectionsPerSecond: median(rates[index] ?? []),
    gbitPerRound: throughputs[index] ?? [], connectionsPerRound: rates[index] ?? [],
  }));
}

export async function benchFirewall(options: FirewallBenchOptions = defaultFirewallBenchOptions): Promise<FirewallBenchReport> {
  const cleanup: (() => unknown)[] = [];
  const registry = { teardown: (fn: () => unknown) => { cleanup.push(fn); } };
  try {
    const control = options.parts.includes('control') ? await controlPlane(registry, options, cleanup) : null;
    const data = options.parts.includes('data') ? await dataPlane(registry, options, cleanup) : [];
    return { options, controlPlane: control, dataPlane: data };
  } finally {
    for (const fn of cleanup.reverse()) {
      try { await fn(); } catch { /* keep cleaning */ }
    }
  }
}

export function formatFirewallReport(report: FirewallBenchReport): string {
  return [formatControlPlane(report.controlPlane), formatDataPlane(report)].filter((text) => text !== '').join('\n');
}

function formatParts(parts: Readonly<Record<string, number>>): string {
  return Object.entries(parts).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ');
}

function formatControlPlane(control: ControlPlaneReport | null): string {
  if (control === null) return '';
  const row = (label: string, cli: Operation | null, engine: Operation): string =>
    `  ${label.padEnd(30)}${(cli === null ? '-' : `${cli.ms.toFixed(0)} ms`).padStart(12)}${`${engine.ms.toFixed(1)} ms`.padStart(14)}${`${engine.cpuMs.toFixed(1)} ms`.padStart(14)}`;
  const breakdown = (label: string, value: Operation): string =>
    `    ${label}: ${value.ms.toFixed(1)} ms (CPU ${value.cpuMs.toFixed(1)}) = ${formatParts(value.parts)} (${value.detail})`;
  return `${[
    `Firewall control plane: ${control.endpoints} endpoints, ${control.policies} NetworkPolicies (one per pod, ~150 allowed peers each), medians`,
    `  table size: ${control.elements} elements`,
    `  ${''.padEnd(30)}${'CLI path'.padStart(12)}${'engine'.padStart(14)}${'engine CPU'.padStart(14)}`,
    row('first apply / start (full)', control.cli.firstApply, control.engine.start),
    row('full resync (atomic)', control.cli.fullResync, control.engine.fullResync),
    row('one policy change', control.cli.policyChange, control.engine.policyChange),
    row('one endpoint registration', control.cli.endpointAdd, control.engine.endpointAdd),
    row('one endpoint removal', null, control.engine.endpointRemove),
    '  where the time goes (ms; nft = the libnftables call, its CPU split into user: JSON, libnftables; system: kernel):',
    breakdown('CLI policy change', control.cli.policyChange),
    breakdown('CLI endpoint registration', control.cli.endpointAdd),
    breakdown('CLI full resync', control.cli.fullResync),
    breakdown('engine policy change', control.engine.policyChange),
    breakdown('engine endpoint registration', control.engine.endpointAdd),
    breakdown('engine endpoint removal', control.engine.endpointRemove),
    breakdown('engine full resync', control.engine.fullResync),
    `  engine full resync of ${control.largeResync.endpoints} endpoints x ${control.policies} policies (${control.largeResync.elements} elements): ${control.largeResync.ms.toFixed(0)} ms`,
    breakdown('breakdown', control.largeResync),
    '  full apply by size (endpoints = policies), medians: Berth engine first apply / full resync vs installing a linear list of as many rules',
    ...control.applyBySize.map((row) => `    ${String(row.endpoints).padStart(6)}: first apply ${median(row.startMs).toFixed(1)} ms, resync ${median(row.resyncMs).toFixed(1)} ms, linear list ${median(row.linearMs).toFixed(1)} ms`),
    ...formatStore(control.store),
  ].join('\n')}\n`;
}

function formatStore(store: StoreControlPlane | null): string[] {
  if (store === null) return ['  store-driven path: did not run (off with --quick, else see the error above)'];
  const row = (label: string, value: { onHostMs: number; allHostsMs: number }): string =>
    `  ${label.padEnd(44)}${`${value.onHostMs.toFixed(1)} ms`.padStart(12)}${`${value.allHostsMs.toFixed(1)} ms`.padStart(16)}`;
  return [
    `Through the cluster store (${store.hosts} hosts, each berthd's engine fed by its watch; the same endpoints and policies, loaded in ${(store.loadMs / 1000).toFixed(1)} s), medians`,
    `  ${''.padEnd(44)}${'on its host'.padStart(12)}${`on all ${store.hosts} hosts`.padStart(16)}`,
    row('one policy change (berth policy apply on m1)', store.policyChange),
    `    in berthd on m1: ${Object.entries(store.policyChange.parts).map(([name, ms]) => `${name.replace(/Ms$/, '')} ${ms.toFixed(1)}`).join(', ')} (store: read the applied documents and commit one transaction, while this host's engine may already apply the watch event; enforce: what remained of the wait for it)`,
    row('one endpoint registration (CNI ADD on w1)', store.endpointAdd),
    `  full resync of one host from the store (list + one transaction): ${store.fullResyncMs.toFixed(0)} ms`,
    ...(store.largeResync === null ? [] : [`  the same with ${store.largeResync.endpoints} endpoints in the store (${store.largeResync.elements} elements): ${store.largeResync.ms.toFixed(0)} ms`]),
  ];
}

/** A figure, or '-' where it was not measured (no throughput runs in --quick). */
const orDash = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** The median over rounds of a / b in the same round: load that drifts between rounds hits both sides alike. */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, round) => value / (b[round] ?? Number.NaN)));
}

function formatDataPlane(report: FirewallBenchReport): string {
  if (report.dataPlane.length === 0) return '';
  const lines = [
    `Firewall data plane: two containers on one bridge per variant, measured round-robin ${report.options.repeats}x, medians;`,
    `  iperf3 ${report.options.iperfSeconds > 0 ? `${report.options.iperfSeconds} s (one long TCP flow)` : 'not run (--quick)'}, sequential new TCP connections for ${report.options.connectSeconds} s`,
    `  ${'variant'.padEnd(44)}${'Gbit/s'.padStart(8)}${'ratio'.padStart(8)}${'conn/s'.padStart(9)}${'ratio'.padStart(8)}`,
  ];
  const [base, conntrackOnly, berthEmpty] = report.dataPlane;
  const berthFull = report.dataPlane.find((sample) => sample.variant === `Berth, ${Math.max(...report.options.dataplanePolicies)} policies`);
  for (const sample of report.dataPlane) {
    const throughput = pairedRatio(sample.gbitPerRound, base?.gbitPerRound ?? []);
    const connect = pairedRatio(sample.connectionsPerRound, base?.connectionsPerRound ?? []);
    lines.push(`  ${sample.variant.padEnd(44)}${orDash(sample.gbitPerSecond, 2).padStart(8)}${orDash(throughput, 2).padStart(7)}x${sample.connectionsPerSecond.toFixed(0).padStart(9)}${connect.toFixed(2).padStart(7)}x`);
  }
  lines.push('  (ratios: against "no firewall table" measured in the same round, median over the rounds)');
  const compare = (label: string, numerator: DataPlaneSample | undefined, denominator: DataPlaneSample | undefined): string =>
    `  ${label}: new TCP conn/s ${pairedRatio(numerator?.connectionsPerRound ?? [], denominator?.connectionsPerRound ?? []).toFixed(2)}x, iperf3 ${orDash(pairedRatio(numerator?.gbitPerRound ?? [], denominator?.gbitPerRound ?? []), 2)}x`;
  lines.push(compare(`${berthFull?.variant ?? ''} vs 0 policies`, berthFull, berthEmpty));
  lines.push(compare('Berth, 0 policies vs conntrack rule only', berthEmpty, conntrackOnly));
  return `${lines.join('\n')}\n`;
}

/** Growth series (policy apply vs endpoints, data plane vs policies) with sizes; the baselines without. */
export function firewallMeasurements(report: FirewallBenchReport): Measurement[] {
  const apply = (report.controlPlane?.applyBySize ?? []).flatMap((row) => ([
    ['Berth engine, full resync', row.resyncMs], ['Berth engine, first apply', row.startMs], ['linear rule list, one transaction', row.linearMs],
  ] as const).map(([side, samples]) => ({ metric: 'policy apply', unit: 'ms', side, size: row.endpoints, sizeName: 'endpoints (= policies)', samples })));
  const sized = report.dataPlane.filter((sample) => sample.design !== undefined && sample.policies !== undefined);
  const growth = sized.flatMap((sample) => [
    { metric: 'new connections', unit: 'conn/s', side: sample.design as string, size: sample.policies as number, sizeName: 'policies', samples: sample.connectionsPerRound },
    { metric: 'TCP throughput', unit: 'Gbit/s', side: sample.design as string, size: sample.policies as number, sizeName: 'policies', samples: sample.gbitPerRound },
  ]);
  const baselines = report.dataPlane.filter((sample) => sample.design === undefined);
  return [
    ...apply, ...growth,
    ...sideMeasurements('new connections, baselines', 'conn/s', new Map(baselines.map((sample) => [sample.variant, sample.connectionsPerRound]))),
    ...sideMeasurements('TCP throughput, baselines', 'Gbit/s', new Map(baselines.map((sample) => [sample.variant, sample.gbitPerRound]))),
  ].filter((measurement) => measurement.samples.length > 0);
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const base = quick ? quickOptions : defaultFirewallBenchOptions;
    const part = stringArg(argv, '--only');
    const repeats = numberArg(argv, '--repeats', base.repeats);
    if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) throw new RangeError('--repeats takes a whole number from 1 to 20');
    return benchFirewall({ ...base, repeats, ...(part === 'control' || part === 'data' ? { parts: [part] } : {}) });
  },
  format: formatFirewallReport,
  measurements: firewallMeasurements,
});
