/**
 * Property: after any seeded random sequence of events (documents applied and removed, monitor mode toggled,
 * endpoints registered, relabelled, readdressed and removed), the incremental compiler holds exactly what a
 * compile from scratch of the final state gives, and the deltas it rendered along the way, applied one by one
 * on a table, leave exactly the table a full resync builds. The final state is tracked by a naive model here,
 * not read back from the compiler. Replay a failure with BERTH_PROPERTY_SEED.
 */
import t from 'tap';
import { compile } from '../../src/compile/compile.js';
import { FirewallCompiler } from '../../src/compile/compiler.js';
import { renderDelta } from '../../src/compile/delta.js';
import type { CompiledFirewall } from '../../src/compile/ir.js';
import { renderFull } from '../../src/compile/render.js';
import { parseDocuments } from '../../src/model/documents.js';
import { buildPolicySet, documentKey } from '../../src/model/policy-set.js';
import type { Endpoint, PolicyDocument } from '../../src/model/types.js';
import { NftInterpreter } from '../support/nft-interpreter.js';
import { Picker, randomEndpoints, randomScenario } from '../support/random-scenario.js';

const sequenceCount = Number(process.env['BERTH_PROPERTY_RUNS'] ?? 60);
const eventsPerSequence = 40;
const seedBase = Number(process.env['BERTH_PROPERTY_SEED'] ?? Date.now() % 1_000_000);

/** A canonical text of a compiled table: equal texts, equal tables. */
function canonical(compiled: CompiledFirewall): string {
  const sorted = <T>(map: ReadonlyMap<string, T>): [string, T][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    actions: sorted(compiled.actions),
    profiles: sorted(compiled.profiles),
    selections: sorted(compiled.selections).map(([name, set]) => [name, set.family, [...set.addresses].sort()]),
    groups: sorted(compiled.groups).map(([name, group]) => [name, { ...group, peers: sorted(group.peers) }]),
    dispatch: sorted(compiled.dispatch).map(([name, map]) => [name, sorted(map)]),
  }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString(16) : value));
}

/** The naive model: documents by key in apply order, endpoints with the upsert rule, the monitor flag. */
class Model {
  readonly documents = new Map<string, PolicyDocument>();
  endpoints: Endpoint[] = [];
  monitor = false;

  upsert(endpoint: Endpoint): void {
    const key = `${endpoint.namespace}/${endpoint.name}`;
    this.endpoints = this.endpoints.filter((old) => `${old.namespace}/${old.name}` !== key && !old.ips.some((ip) => endpoint.ips.includes(ip)));
    this.endpoints.push(endpoint);
  }

  compiled(): CompiledFirewall {
    const { policies, namespaces } = buildPolicySet([...this.documents.values()], { monitor: this.monitor });
    return compile({ policies, namespaces, endpoints: this.endpoints });
  }
}

function documentPool(seed: number): PolicyDocument[] {
  const raw = [0, 1, 2, 3].flatMap((offset) => randomScenario(seed + offset).documents);
  // Namespace documents with other labels, so namespace selectors change their selection.
  raw.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'y', labels: { ns: 'x' } } });
  return parseDocuments(raw.map((document) => JSON.stringify(document)).join('\n---\n')).map((item) => item.document);
}

function endpointPool(pick: Picker): Endpoint[] {
  const pool = [0, 1, 2, 3].flatMap(() => randomEndpoints(pick));
  // Relabelled and readdressed twins of the same pods.
  return [...pool, ...pool.slice(0, 6).map((endpoint) => ({ ...endpoint, labels: { ...endpoint.labels, pod: 'c' } }))];
}

interface Sequence {
  readonly log: string[];
  readonly compiler: FirewallCompiler;
  readonly model: Model;
  readonly table: NftInterpreter;
  generation: number;
}

function step(pick: Picker, sequence: Sequence, documents: readonly PolicyDocument[], endpoints: readonly Endpoint[]): void {
  const { compiler, model } = sequence;
  const kind = pick.int(0, 9);
  if (kind <= 2) {
    const applied = pick.some(documents, 2);
    sequence.log.push(`apply ${applied.map(documentKey).join(', ')}`);
    compiler.applyDocuments(applied);
    for (const document of applied) model.documents.set(documentKey(document), document);
  } else if (kind === 3 && model.documents.size > 0) {
    const key = pick.pick([...model.documents.keys()]);
    sequence.log.push(`remove ${key}`);
    compiler.removeDocuments([key]);
    model.documents.delete(key);
  } else if (kind === 4 && pick.chance(0.3)) {
    model.monitor = !model.monitor;
    sequence.log.push(`monitor ${model.monitor}`);
    compiler.setMonitor(model.monitor);
  } else if (kind <= 7) {
    const endpoint = pick.pick(endpoints);
    sequence.log.push(`upsert ${endpoint.namespace}/${endpoint.name} ${endpoint.ips.join(',')} ${JSON.stringify(endpoint.labels)}`);
    compiler.upsertEndpoint(endpoint);
    model.upsert(endpoint);
  } else if (model.endpoints.length > 0) {
    const endpoint = pick.pick(model.endpoints);
    const key = `${endpoint.namespace}/${endpoint.name}`;
    sequence.log.push(`remove endpoint ${key}`);
    compiler.removeEndpoint(key);
    model.endpoints = model.endpoints.filter((other) => other !== endpoint);
  }
  const from = sequence.generation;
  sequence.generation += 1;
  sequence.table.apply(renderDelta(compiler.takeChanges(), compiler.compiled(), { from, to: sequence.generation }).script);
}

t.test('incremental compiles equal compiles from scratch after random event sequences', async (t) => {
  t.comment(`seeds ${seedBase}..${seedBase + sequenceCount - 1} (replay with BERTH_PROPERTY_SEED)`);
  let events = 0;
  for (let run = 0; run < sequenceCount; run += 1) {
    const seed = seedBase + run;
    const pick = new Picker(seed);
    const documents = documentPool(seed * 7);
    const endpoints = endpointPool(pick);
    const sequence: Sequence = { log: [], compiler: new FirewallCompiler(), model: new Model(), table: new NftInterpreter(), generation: 1 };
    sequence.table.apply(renderFull(sequence.compiler.compiled(), 1));
    sequence.compiler.takeChanges();
    try {
      for (let index = 0; index < eventsPerSequence; index += 1) step(pick, sequence, documents, endpoints);
    } catch (error) {
      t.fail(`seed ${seed}: ${String(error)}\nevents:\n${sequence.log.join('\n')}`);
      return;
    }
    events += sequence.log.length;
    const scratch = sequence.model.compiled();
    if (canonical(sequence.compiler.compiled()) !== canonical(scratch)) {
      t.fail(`seed ${seed}: the incremental compile differs from a compile from scratch\nevents:\n${sequence.log.join('\n')}`);
      return;
    }
    const resynced = new NftInterpreter();
    resynced.apply(renderFull(scratch, sequence.generation));
    if (sequence.table.snapshot() !== resynced.snapshot()) {
      t.fail(`seed ${seed}: the table after the deltas differs from a full resync\nevents:\n${sequence.log.join('\n')}`);
      return;
    }
  }
  t.pass(`${sequenceCount} sequences (${events} events) ended equal to a compile from scratch, in memory and in the table`);
});
