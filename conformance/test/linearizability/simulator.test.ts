import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import { describeFailure } from '../../src/linearizability/describe.js';
import { seedFromEnvironment } from './random.js';
import { simulateHistory, type SimulationOptions } from './simulator.js';

const runs = 60;
const baseSeed = seedFromEnvironment();
t.comment(`simulation base seed ${baseSeed} (replay with LINEARIZABILITY_SEED=${baseSeed}); run i uses seed base + i`);

const shapes: readonly Omit<SimulationOptions, 'seed' | 'mode'>[] = [
  { clients: 3, keys: 1, operations: 40, unknownProbability: 0.05 },
  { clients: 5, keys: 2, operations: 120, unknownProbability: 0.1, integerTimes: true },
  { clients: 8, keys: 3, operations: 200, unknownProbability: 0.03, valueDomain: 3 },
];

t.test('histories of a correct concurrent register are linearizable', async (t) => {
  const unknownCounts: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const seed = (baseSeed + run) >>> 0;
    const shape = shapes[run % shapes.length] as (typeof shapes)[number];
    const history = simulateHistory({ ...shape, seed, mode: 'correct' });
    unknownCounts.push(history.filter((operation) => operation.output.kind === 'unknown').length);
    const result = checkHistory(history);
    if (!t.equal(result.outcome, 'linearizable', `seed ${seed}`)) t.comment(describeFailure(result));
  }
  t.ok(unknownCounts.some((count) => count > 0), 'some runs contain unknown outcomes');
});

t.test('reads served from a per-client stale cache are caught', async (t) => {
  let caught = 0;
  for (let run = 0; run < runs; run += 1) {
    const seed = (baseSeed + run) >>> 0;
    const shape = shapes[run % shapes.length] as (typeof shapes)[number];
    const result = checkHistory(simulateHistory({ ...shape, seed, mode: 'stale-cache', staleReadProbability: 0.3 }));
    t.not(result.outcome, 'unknown', `seed ${seed} is decided`);
    if (result.outcome !== 'not-linearizable') continue;
    caught += 1;
    if (caught === 1) t.comment(`first violation (seed ${seed}):\n${describeFailure(result)}`);
    t.ok(result.operationsNotLinearizable.length > 0, `seed ${seed}: the stuck operations are named`);
  }
  t.comment(`${caught} of ${runs} stale-cache runs were caught`);
  t.ok(caught >= 1, 'at least one stale-cache history is not linearizable');
});

t.test('the simulator replays a run exactly from its seed', async (t) => {
  const options: SimulationOptions = { seed: baseSeed, clients: 4, keys: 2, operations: 50, unknownProbability: 0.1, mode: 'stale-cache' };
  t.same(simulateHistory(options), simulateHistory(options));
});
