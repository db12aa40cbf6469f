/**
 * Property: for random small policy sets and endpoints, pushing packets through the compiled table (with the
 * interpreter of our own output) gives the evaluator's verdict, for every pair of endpoints and outside
 * addresses, every protocol class and every port where something could change. And a delta applied on top of
 * an old table leaves exactly the table a full resync would build.
 */
import t from 'tap';
import { compile } from '../../src/compile/compile.js';
import { FirewallCompiler, type FirewallSnapshot } from '../../src/compile/compiler.js';
import { renderDelta } from '../../src/compile/delta.js';
import { renderFull } from '../../src/compile/render.js';
import { Evaluator } from '../../src/evaluate/decide.js';
import { parseAddress, type Address } from '../../src/model/address.js';
import { NftInterpreter } from '../support/nft-interpreter.js';
import { interestingPorts, randomScenario, type Scenario } from '../support/random-scenario.js';

const scenarioCount = Number(process.env['BERTH_PROPERTY_RUNS'] ?? 150);
const seedBase = Number(process.env['BERTH_PROPERTY_SEED'] ?? Date.now() % 1_000_000);
const outsideAddresses = ['10.9.1.200', '10.9.2.9', '192.0.2.1', '10.9.0.1', 'fd00::ff', '2001:db8::1'];
const protocols = [6, 17, 132, 1];

function snapshot(scenario: Scenario): FirewallSnapshot {
  return { documents: [...scenario.namespaces, ...scenario.policies.adminPolicies, ...(scenario.policies.baseline === null ? [] : [scenario.policies.baseline]), ...scenario.policies.networkPolicies], endpoints: scenario.endpoints, monitor: scenario.policies.monitor };
}

function addressesOf(scenario: Scenario): Address[] {
  const texts = [...scenario.endpoints.flatMap((endpoint) => endpoint.ips), ...outsideAddresses];
  return texts.map((text) => parseAddress(text)).filter((address): address is Address => address !== null);
}

/** Returns the first disagreement, described, or null. */
function firstMismatch(scenario: Scenario, interpreter: NftInterpreter): string | null {
  const evaluator = new Evaluator(scenario.policies, scenario.namespaces, scenario.endpoints);
  const addresses = addressesOf(scenario);
  for (const source of addresses) {
    for (const destination of addresses) {
      if (source === destination || source.family !== destination.family) continue;
      for (const protocol of protocols) {
        for (const port of protocol === 1 ? [0, 8] : interestingPorts) {
          const expected = evaluator.decidePacket({ source, destination, protocol, port }).verdict;
          const actual = interpreter.forward({ family: source.family, source: source.value, destination: destination.value, protocol, port, conntrack: 'new' });
          if (expected !== actual) {
            const decision = evaluator.decidePacket({ source, destination, protocol, port });
            return `${decision.source} -> ${decision.destination} proto ${protocol} port ${port}: evaluator ${expected} (${decision.reason}), compiled table ${actual}`;
          }
        }
      }
    }
  }
  return null;
}

t.test('compiled tables agree with the evaluator on random scenarios', async (t) => {
  t.comment(`seeds ${seedBase}..${seedBase + scenarioCount - 1} (replay with BERTH_PROPERTY_SEED)`);
  let boxes = 0;
  for (let run = 0; run < scenarioCount; run += 1) {
    const seed = seedBase + run;
    const scenario = randomScenario(seed);
    const compiled = compile(scenario);
    boxes += [...compiled.groups.values()].reduce((sum, group) => sum + group.boxes.length + group.peers.size, 0);
    const interpreter = new NftInterpreter();
    interpreter.apply(renderFull(compiled, 1));
    const mismatch = firstMismatch(scenario, interpreter);
    if (mismatch !== null) {
      t.fail(`seed ${seed}: ${mismatch}\npolicies: ${JSON.stringify(scenario.documents)}\nendpoints: ${JSON.stringify(scenario.endpoints)}`);
      return;
    }
  }
  t.pass(`${scenarioCount} scenarios agree (${boxes} boxes and peers in all)`);
  t.ok(boxes > 0, 'the scenarios produced some filtering at all');
});

t.test('established traffic is accepted before any lookup', async (t) => {
  for (let run = 0; run < 20; run += 1) {
    const scenario = randomScenario(seedBase + 10_000 + run);
    const interpreter = new NftInterpreter();
    interpreter.apply(renderFull(compile(scenario), 1));
    for (const source of addressesOf(scenario)) {
      for (const destination of addressesOf(scenario)) {
        if (source.family !== destination.family) continue;
        const verdict = interpreter.forward({ family: source.family, source: source.value, destination: destination.value, protocol: 6, port: 80, conntrack: 'established' });
        if (verdict !== 'allow') {
          t.fail(`seed ${seedBase + 10_000 + run}: established packet got ${verdict}`);
          return;
        }
      }
    }
  }
  t.pass('every established packet was accepted');
});

t.test('a delta from any state to any other leaves what a full resync builds', async (t) => {
  for (let run = 0; run < Math.ceil(scenarioCount / 2); run += 1) {
    const seed = seedBase + 20_000 + run;
    const before = randomScenario(seed);
    // Half the time the endpoints stay (policy change), half the time the policies stay (endpoint churn).
    const other = randomScenario(seed + 1_000_000);
    const after = run % 2 === 0 ? { ...other, endpoints: before.endpoints } : { ...before, endpoints: other.endpoints };
    const compiler = new FirewallCompiler();
    compiler.load(snapshot(before));
    const incremental = new NftInterpreter();
    incremental.apply(renderFull(compiler.compiled(), 7));
    compiler.takeChanges();
    compiler.load(snapshot(after));
    try {
      incremental.apply(renderDelta(compiler.takeChanges(), compiler.compiled(), { from: 7, to: 8 }).script);
    } catch (error) {
      t.fail(`seed ${seed}: delta rejected: ${String(error)}`);
      return;
    }
    const resynced = new NftInterpreter();
    resynced.apply(renderFull(compile(after), 8));
    if (incremental.snapshot() !== resynced.snapshot()) {
      t.fail(`seed ${seed}: incremental table differs from a full resync`);
      return;
    }
    const mismatch = firstMismatch(after, incremental);
    if (mismatch !== null) {
      t.fail(`seed ${seed}: after delta: ${mismatch}`);
      return;
    }
  }
  t.pass('every delta matched the full resync');
});

t.test('a delta against a stale generation is rejected whole', async (t) => {
  const scenario = randomScenario(seedBase);
  const compiler = new FirewallCompiler();
  compiler.load(snapshot(scenario));
  const interpreter = new NftInterpreter();
  interpreter.apply(renderFull(compiler.compiled(), 3));
  const before = interpreter.snapshot();
  compiler.takeChanges();
  compiler.load({ ...snapshot(scenario), endpoints: [] });
  t.throws(() => interpreter.apply(renderDelta(compiler.takeChanges(), compiler.compiled(), { from: 2, to: 4 }).script), /generation: No such file/);
  t.equal(interpreter.snapshot(), before, 'nothing of the rejected transaction was applied');
});
