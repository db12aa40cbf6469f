import { performance } from 'node:perf_hooks';
import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import { describeFailure } from '../../src/linearizability/describe.js';
import { seedFromEnvironment } from './random.js';
import { simulateHistory } from './simulator.js';

t.test('a 2 000-operation history over 5 keys with 8 clients is checked (time printed, not asserted)', async (t) => {
  const seed = seedFromEnvironment();
  for (const unknownProbability of [0, 0.02, 0.05]) {
    const history = simulateHistory({ seed, clients: 8, keys: 5, operations: 2000, unknownProbability, mode: 'correct' });
    const startedMs = performance.now();
    const result = checkHistory(history);
    const elapsedMs = performance.now() - startedMs;
    const unknowns = history.filter((operation) => operation.output.kind === 'unknown').length;
    t.comment(`seed ${seed}, ${unknowns} unknown outcomes: ${result.outcome} in ${elapsedMs.toFixed(1)} ms`);
    if (!t.equal(result.outcome, 'linearizable', `seed ${seed}, unknownProbability ${unknownProbability}`)) {
      t.comment(describeFailure(result));
    }
  }
});
