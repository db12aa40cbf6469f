/**
 * Firewall benchmark, all in one run, inside test network namespaces (nothing in the root namespace):
 *   control plane: 1 000 endpoints and 1 000 NetworkPolicies (each pod selected by its own policy, each policy
 *     allowing ~150 peers on two ports: a worst case for the pair-wise maps); time of the first apply, of a full
 *     resync, of one policy change and of one endpoint registration (each end to end: lock, state, compile,
 *     nftables transaction, records);
 *   data plane: two containers on a bridge; iperf3 throughput and sequential new TCP connections per second with
 *     no table, with Berth's table holding 0 and 10 000 policies, and with an equivalent linear list of 10 000
 *     rules (the iptables-style design), evaluated for every packet or after a conntrack shortcut.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/firewall.js [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRtnl } from '@berth/cni';
import { Firewall, type EndpointRecord } from '@berth/firewall';
import { Nft, type NftCommand } from '@berth/nftables-napi';
import { TestHost, type TestNetns } from '../harness/index.js';

export interface FirewallBenchOptions {
  readonly endpoints: number;
  readonly policies: number;
  readonly dataplanePolicies: number;
  readonly iperfSeconds: number;
  readonly connectSeconds: number;
  readonly repeats: number;
}

export const defaultFirewallBenchOptions: FirewallBenchOptions = {
  endpoints: 1_000, policies: 1_000, dataplanePolicies: 10_000, iperfSeconds: 3, connectSeconds: 2, repeats: 3,
};

const quickOptions: FirewallBenchOptions = { endpoints: 200, policies: 200, dataplanePolicies: 1_000, iperfSeconds: 1, connectSeconds: 1, repeats: 1 };

export interface ControlPlaneReport {
  readonly endpoints: number;
  readonly policies: number;
  readonly elements: number;
  readonly firstApplyMs: number;
  readonly fullResyncMs: number;
  readonly policyChangeMs: number;
  readonly endpointAddMs: number;
  readonly policyChangeMode: string;
}

export interface DataPlaneSample {
  readonly variant: string;
  readonly gbitPerSecond: number;
  readonly connectionsPerSecond: number;
}

export interface FirewallBenchReport {
  readonly options: FirewallBenchOptions;
  readonly controlPlane: ControlPlaneReport;
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

async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function controlPlane(host: TestNetns, options: FirewallBenchOptions, cleanup: (() => unknown)[]): Promise<ControlPlaneReport> {
  const root = mkdtempSync(join(tmpdir(), 'bt-fwbench-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const firewall = new Firewall({ root, netns: host.path });
  const endpoints = benchEndpoints(options.endpoints);
  await firewall.registerEndpoints(endpoints);
  const documents = benchPolicies(options.policies, options.endpoints);
  const firstApplyMs = await timedMs(() => firewall.apply(yamlOf(documents)));
  const resyncs: number[] = [];
  let elements = 0;
  for (let run = 0; run < options.repeats; run += 1) {
    resyncs.push(await timedMs(async () => { elements = (await firewall.resync()).enforcement.elementsAdded; }));
  }
  const changes: number[] = [];
  let mode = '';
  for (let run = 0; run < options.repeats * 2; run += 1) {
    const changed = benchPolicies(1, options.endpoints, run % 2 === 0 ? 7000 : 8080)[namespaceCount] as object;
    changes.push(await timedMs(async () => { mode = (await firewall.apply(yamlOf([changed]))).enforcement.mode; }));
  }
  const adds: number[] = [];
  for (let run = 0; run < options.repeats; run += 1) {
    const extra = { ...benchEndpoints(1)[0] as EndpointRecord, name: `extra${run}`, ips: [`10.101.0.${run + 1}`], containerId: `extra-${run}`, labels: { app: 'app0', role: 'role0', tier: 't0' } };
    adds.push(await timedMs(() => firewall.registerEndpoint(extra)));
  }
  await firewall.disable();
  return {
    endpoints: options.endpoints, policies: options.policies, elements, firstApplyMs,
    fullResyncMs: median(resyncs), policyChangeMs: median(changes), endpointAddMs: median(adds), policyChangeMode: mode,
  };
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

/** Medians of `repeats` iperf3 runs and of `repeats` connect loops (this machine is noisy). */
async function measure(client: TestNetns, serverIp: string, options: FirewallBenchOptions, variant: string): Promise<DataPlaneSample> {
  const throughputs: number[] = [];
  const rates: number[] = [];
  for (let run = 0; run < options.repeats; run += 1) {
    const iperf = await client.execChecked(['iperf3', '-c', serverIp, '-t', String(options.iperfSeconds), '-J'], { timeoutMs: (options.iperfSeconds + 20) * 1000 });
    const result = JSON.parse(iperf) as { end?: { sum_received?: { bits_per_second?: number } } };
    throughputs.push((result.end?.sum_received?.bits_per_second ?? 0) / 1e9);
    const connections = await client.execChecked([process.execPath, '--input-type=module', '-e', connectLoop, serverIp, '5300', String(options.connectSeconds)],
      { timeoutMs: (options.connectSeconds + 20) * 1000 });
    rates.push(Number(connections));
  }
  return { variant, gbitPerSecond: median(throughputs), connectionsPerSecond: median(rates) };
}

async function dataPlane(host: TestHost, options: FirewallBenchOptions, cleanup: (() => unknown)[]): Promise<DataPlaneSample[]> {
  const rtnl = openRtnl(host.path);
  cleanup.push(() => rtnl.close());
  await rtnl.links.ensureBridge({ name: 'br0', up: true });
  const pair: { netns: TestNetns; ip: string; name: string }[] = [];
  for (const [index, name] of ['client', 'server'].entries()) {
    const netns = await host.addNetns(name);
    const ip = `10.200.0.${index + 2}`;
    await rtnl.links.createVeth({ name: `vb-${name}`, master: 'br0', up: true, peer: { name: 'eth0', netnsPath: netns.path } });
    const inside = openRtnl(netns.path);
    try {
      await inside.links.setUp('lo');
      await inside.links.setUp('eth0');
      await inside.addresses.add('eth0', `${ip}/24`);
    } finally {
      inside.close();
    }
    pair.push({ netns, ip, name });
  }
  const [client, server] = pair as [typeof pair[number], typeof pair[number]];
  // Many short connections from one client: reuse TIME_WAIT ports and widen the range (in the client's own netns).
  await client.netns.execChecked(['sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=10000 65000']);
  const servers: ChildProcess[] = [
    spawn('nsenter', [`--net=${server.netns.path}`, '--', 'iperf3', '-s'], { stdio: 'ignore' }),
    spawn('nsenter', [`--net=${server.netns.path}`, '--', process.execPath, '-e', "require('net').createServer((s) => s.destroy()).listen(5300)"], { stdio: 'ignore' }),
  ];
  cleanup.push(() => servers.forEach((child) => { if (child.exitCode === null) child.kill(); }));
  await new Promise((resolve) => setTimeout(resolve, 500));
  await client.netns.execChecked(['iperf3', '-c', server.ip, '-t', '1'], { timeoutMs: 20_000 });
  const root = mkdtempSync(join(tmpdir(), 'bt-fwbench-dp-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const firewall = new Firewall({ root, netns: host.path });
  const samples: DataPlaneSample[] = [];
  samples.push(await measure(client.netns, server.ip, options, 'no firewall table'));
  await firewall.registerEndpoints(pair.map(({ ip, name }) => ({
    namespace: 'bench', name, labels: { role: name }, ips: [ip], interface: `vb-${name}`, namedPorts: [], network: 'bench', containerId: name, ifName: 'eth0',
  })));
  samples.push(await measure(client.netns, server.ip, options, 'Berth, 0 policies'));
  await firewall.registerEndpoints(benchEndpoints(options.endpoints));
  const isolateServer = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'server', namespace: 'bench' },
    spec: { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] },
  };
  await firewall.apply(yamlOf([...benchPolicies(options.dataplanePolicies - 1, options.endpoints), isolateServer]));
  samples.push(await measure(client.netns, server.ip, options, `Berth, ${options.dataplanePolicies} policies`));
  await firewall.disable();
  const nft = new Nft({ netns: host.path });
  cleanup.push(() => nft.close());
  for (const conntrackFirst of [false, true]) {
    nft.run(linearRules(options.dataplanePolicies, conntrackFirst));
    samples.push(await measure(client.netns, server.ip, options, `linear ${options.dataplanePolicies} rules${conntrackFirst ? ', conntrack first' : ', every packet'}`));
    nft.run({ delete: { table: { family: 'inet', name: 'bt-linear' } } });
  }
  return samples;
}

export async function benchFirewall(options: FirewallBenchOptions = defaultFirewallBenchOptions): Promise<FirewallBenchReport> {
  const cleanup: (() => unknown)[] = [];
  const registry = { teardown: (fn: () => unknown) => { cleanup.push(fn); } };
  try {
    const controlHost = await TestHost.create(registry, 'fwbench');
    const control = await controlPlane(controlHost, options, cleanup);
    const dataHost = await TestHost.create(registry, 'fwbench');
    const data = await dataPlane(dataHost, options, cleanup);
    return { options, controlPlane: control, dataPlane: data };
  } finally {
    for (const fn of cleanup.reverse()) {
      try { await fn(); } catch { /* keep cleaning */ }
    }
  }
}

export function formatFirewallReport(report: FirewallBenchReport): string {
  const control = report.controlPlane;
  const lines = [
    `Firewall control plane: ${control.endpoints} endpoints, ${control.policies} NetworkPolicies (one per pod, ~150 allowed peers each)`,
    `  table size:                  ${control.elements} map elements`,
    `  first apply (full):          ${control.firstApplyMs.toFixed(0)} ms`,
    `  full resync (atomic):        ${control.fullResyncMs.toFixed(0)} ms`,
    `  one policy change:           ${control.policyChangeMs.toFixed(0)} ms (${control.policyChangeMode})`,
    `  one endpoint registration:   ${control.endpointAddMs.toFixed(0)} ms`,
    '',
    `Firewall data plane: two containers on one bridge, iperf3 ${report.options.iperfSeconds} s, sequential TCP connects ${report.options.connectSeconds} s`,
    `  ${'variant'.padEnd(44)}${'Gbit/s'.padStart(8)}${'ratio'.padStart(8)}${'conn/s'.padStart(9)}${'ratio'.padStart(8)}`,
  ];
  const base = report.dataPlane[0];
  for (const sample of report.dataPlane) {
    const throughputRatio = base === undefined ? Number.NaN : sample.gbitPerSecond / base.gbitPerSecond;
    const connectRatio = base === undefined ? Number.NaN : sample.connectionsPerSecond / base.connectionsPerSecond;
    lines.push(`  ${sample.variant.padEnd(44)}${sample.gbitPerSecond.toFixed(2).padStart(8)}${throughputRatio.toFixed(2).padStart(7)}x${sample.connectionsPerSecond.toFixed(0).padStart(9)}${connectRatio.toFixed(2).padStart(7)}x`);
  }
  lines.push('  (ratios against "no firewall table")');
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = process.argv.includes('--quick') ? quickOptions : defaultFirewallBenchOptions;
  process.stdout.write(formatFirewallReport(await benchFirewall(options)));
}
