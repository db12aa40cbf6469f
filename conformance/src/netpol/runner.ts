/**
 * Runs one truth-table case on the shared topology: apply its documents, probe every (from pod, to pod,
 * port, protocol) in parallel with a short timeout, compare with the independent model, re-probe any
 * disagreement once with a long timeout (a slow answer is not a policy verdict), and put the topology back.
 */
import { documentKeyOf, type PolicyDocument } from './documents.js';
import type { NetpolCase } from './cases.js';
import { expectedReachable, type ModelWorld } from './model.js';
import { namespaceDocuments, servedPorts, type NetpolPod } from './topology.js';

const probeTimeoutMs = 300;
const recheckTimeoutMs = 2_000;
const protocols = ['tcp', 'udp'] as const;

/** What a case needs of a topology: one host and the CLI path (topology.ts) or a cluster (cluster-topology.ts). */
export interface CaseTopology {
  readonly pods: readonly NetpolPod[];
  apply(documents: readonly PolicyDocument[]): Promise<unknown>;
  remove(documents: readonly PolicyDocument[]): Promise<void>;
  setMonitor(monitor: boolean): Promise<void>;
  addPod(namespace: string, name: string): Promise<NetpolPod>;
  removePod(pod: NetpolPod): Promise<void>;
  /** Back to the namespaces only, monitor mode off. */
  reset(): Promise<void>;
}

export interface ProbeCell {
  readonly from: NetpolPod;
  readonly to: NetpolPod;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly expected: boolean;
  actual: boolean;
}

export interface CaseOutcome {
  readonly cells: readonly ProbeCell[];
  readonly mismatches: readonly ProbeCell[];
  /** Expected and probed reachability, one grid per protocol/port, for a person to read. */
  readonly table: string;
}

/** The documents in force after the case's steps, in application order (later ones replace earlier ones by key). */
export function documentsInForce(testCase: NetpolCase): PolicyDocument[] {
  const byKey = new Map<string, PolicyDocument>();
  for (const document of [...namespaceDocuments, ...testCase.documents, ...(testCase.then ?? [])]) byKey.set(documentKeyOf(document), document);
  for (const document of testCase.remove ?? []) byKey.delete(documentKeyOf(document));
  return [...byKey.values()];
}

const podLabel = (pod: NetpolPod): string => `${pod.namespace}/${pod.name}`;

export function formatTable(cells: readonly ProbeCell[], pods: readonly NetpolPod[]): string {
  const grids: string[] = [];
  const width = 7;
  for (const protocol of protocols) {
    for (const port of servedPorts) {
      const lines = [`${protocol.toUpperCase()}/${port}`.padEnd(width) + pods.map((pod) => podLabel(pod).padEnd(width)).join('')];
      for (const from of pods) {
        const row = pods.map((to) => {
          if (from === to) return '-'.padEnd(width);
          const cell = cells.find((item) => item.from === from && item.to === to && item.port === port && item.protocol === protocol);
          if (cell === undefined) return '?'.padEnd(width);
          const mark = cell.actual ? '.' : '#';
          return (cell.actual === cell.expected ? mark : `X${mark}`).padEnd(width);
        });
        lines.push(podLabel(from).padEnd(width) + row.join(''));
      }
      grids.push(lines.join('\n'));
    }
  }
  return `${grids.join('\n\n')}\n(rows: from, columns: to; "." reachable, "#" blocked, "X" marks a cell that disagrees with the expected table)`;
}

async function probeAll(cells: readonly ProbeCell[], timeoutMs: number): Promise<void> {
  await Promise.all(cells.map(async (cell) => {
    cell.actual = await cell.from.agent.probe(cell.to.ip, cell.port, cell.protocol, timeoutMs);
  }));
}

export async function runCase(topology: CaseTopology, testCase: NetpolCase): Promise<CaseOutcome> {
  let added: NetpolPod | null = null;
  try {
    if (testCase.monitor === true) await topology.setMonitor(true);
    await topology.apply(testCase.documents);
    await topology.apply(testCase.then ?? []);
    await topology.remove(testCase.remove ?? []);
    if (testCase.addPod !== undefined) added = await topology.addPod(testCase.addPod.namespace, testCase.addPod.name);
    const world: ModelWorld = { documents: documentsInForce(testCase), pods: topology.pods, globalMonitor: testCase.monitor === true };
    const pods = [...topology.pods];
    const cells: ProbeCell[] = [];
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        for (const port of servedPorts) {
          for (const protocol of protocols) {
            const expected = expectedReachable(world, { from, to, port, protocol: protocol === 'tcp' ? 'TCP' : 'UDP' });
            cells.push({ from, to, port, protocol, expected, actual: false });
          }
        }
      }
    }
    await probeAll(cells, probeTimeoutMs);
    await probeAll(cells.filter((cell) => cell.actual !== cell.expected), recheckTimeoutMs);
    return { cells, mismatches: cells.filter((cell) => cell.actual !== cell.expected), table: formatTable(cells, pods) };
  } finally {
    if (added !== null) await topology.removePod(added);
    await topology.reset();
  }
}

export function describeCell(cell: ProbeCell): string {
  return `${podLabel(cell.from)} -> ${podLabel(cell.to)} ${cell.protocol}/${cell.port}: expected ${cell.expected ? 'reachable' : 'blocked'}, probed ${cell.actual ? 'reachable' : 'blocked'}`;
}
