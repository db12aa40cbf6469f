import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import type { KvInput, KvOutput, Operation } from '../../src/linearizability/history.js';
import { bruteForceLinearizable } from './brute-force.js';
import { SeededRandom, seedFromEnvironment } from './random.js';
import { simulateHistory } from './simulator.js';

const historiesPerKind = 700;
const baseSeed = seedFromEnvironment();
t.comment(`property base seed ${baseSeed} (replay with LINEARIZABILITY_SEED=${baseSeed})`);

/** Small histories of three kinds: a correct store, a correct store with one answer changed, and noise. */
function smallHistory(seed: number, kind: 'correct' | 'mutated' | 'noise'): Operation[] {
  const random = new SeededRandom(seed);
  const size = 2 + random.int(6);
  if (kind === 'noise') return Array.from({ length: size }, () => noiseOperation(random));
  const history = simulateHistory({
    seed, clients: 1 + random.int(4), keys: 1 + random.int(2), operations: size, unknownProbability: 0.25,
    mode: random.chance(0.3) ? 'stale-cache' : 'correct', integerTimes: true, latencyMsMax: 6,
    ...(random.chance(0.5) ? { valueDomain: 2 } : {}),
  });
  if (kind === 'correct') return history;
  const victim = random.int(history.length);
  return history.map((operation, index) => (index === victim ? { ...operation, ...mutatedResult(random, operation) } : operation));
}

function noiseOperation(random: SeededRandom): Operation {
  const value = (): string => random.pick(['a', 'b']);
  const input: KvInput = random.pick<KvInput>([
    { kind: 'put', value: value() }, { kind: 'get' }, { kind: 'cas', expected: random.chance(0.3) ? null : value(), value: value() },
    { kind: 'delete' },
  ]);
  const callMs = random.int(8);
  return { clientId: random.int(3), key: random.pick(['x', 'y']), input, callMs, ...mutatedResult(random, { input, callMs }) };
}

function mutatedResult(random: SeededRandom, operation: { input: KvInput; callMs: number }): { output: KvOutput; returnMs: number } {
  if (random.chance(0.2)) return { output: { kind: 'unknown' }, returnMs: Infinity };
  const returnMs = operation.callMs + random.int(4);
  switch (operation.input.kind) {
    case 'get':
      return { output: { kind: 'ok', value: random.pick([null, 'a', 'b', 'v0', 'v1']) }, returnMs };
    case 'cas':
      return { output: { kind: 'ok', succeeded: random.chance(0.5) }, returnMs };
    case 'delete':
      return { output: random.chance(0.5) ? { kind: 'ok', succeeded: random.chance(0.5) } : { kind: 'ok' }, returnMs };
    case 'put':
      return { output: { kind: 'ok' }, returnMs };
  }
}

t.test('the checker agrees with brute force on small histories', async (t) => {
  const verdicts = { linearizable: 0, 'not-linearizable': 0 };
  let disagreements = 0;
  for (const kind of ['correct', 'mutated', 'noise'] as const) {
    for (let index = 0; index < historiesPerKind; index += 1) {
      const seed = (baseSeed + index * 3 + ['correct', 'mutated', 'noise'].indexOf(kind)) >>> 0;
      const history = smallHistory(seed, kind);
      const expected = bruteForceLinearizable(history) ? 'linearizable' : 'not-linearizable';
      const outcome = checkHistory(history).outcome;
      if (outcome === 'unknown') throw new Error(`seed ${seed}: a small history exhausted the budget`);
      verdicts[outcome] += 1;
      if (outcome === expected) continue;
      disagreements += 1;
      t.fail(`${kind} seed ${seed}: checker says ${outcome}, brute force ${expected}`, { history: JSON.stringify(history) });
    }
  }
  t.comment(`verdicts: ${JSON.stringify(verdicts)}`);
  t.equal(disagreements, 0, 'no disagreement');
  t.ok(verdicts.linearizable > historiesPerKind / 2, 'many linearizable histories were tried');
  t.ok(verdicts['not-linearizable'] > historiesPerKind / 2, 'many violations were tried');
});
