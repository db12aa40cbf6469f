import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import { kvRegisterModel } from '../../src/linearizability/model.js';
import { preparePartition } from '../../src/linearizability/prepare.js';
import { searchLinearization } from '../../src/linearizability/search.js';
import { cas, del, get, put, timedOut } from './operations.js';
import { seedFromEnvironment } from './random.js';
import { simulateHistory } from './simulator.js';

t.test('unknown gets are dropped', async (t) => {
  const history = [timedOut(get(1, 'x', null, [0, 1])), put(2, 'x', 'a', [0, 1])];
  t.same(preparePartition(history).map((entry) => entry.operation), [history[1]]);
});

t.test('an unknown put of a unique value that is read later must precede the first read', async (t) => {
  const history = [timedOut(put(1, 'x', 'a', [0, 1])), get(2, 'x', 'a', [9, 12]), get(3, 'x', 'a', [8, 10])];
  t.same(preparePartition(history).map((entry) => entry.returnMs), [10, 12, 10]);
});

t.test('an unknown put of a value someone else also writes keeps its unknown return', async (t) => {
  const history = [timedOut(put(1, 'x', 'a', [0, 1])), put(2, 'x', 'a', [3, 4]), get(3, 'x', 'a', [8, 10])];
  t.equal(preparePartition(history)[0]?.returnMs, Infinity);
});

t.test('an unknown put that nobody observes is dropped unless a failed cas or a delete of an existing key could need it', async (t) => {
  const lone = [timedOut(put(1, 'x', 'u', [0, 1])), get(2, 'x', null, [5, 6])];
  t.equal(preparePartition(lone).length, 1);
  const withFailedCas = [...lone, cas(3, 'x', { expected: null, value: 'b', succeeded: false }, [2, 3])];
  t.equal(preparePartition(withFailedCas).length, 3);
  const withDelete = [...lone, del(3, 'x', true, [2, 3])];
  t.equal(preparePartition(withDelete).length, 3);
  const expectedByCas = [...lone, timedOut(cas(3, 'x', { expected: 'u', value: 'b', succeeded: true }, [2, 3]))];
  t.equal(preparePartition(expectedByCas).length, 3, 'a cas expecting the value keeps it');
});

t.test('preparing a key never changes its verdict (against the unprepared search)', async (t) => {
  const baseSeed = seedFromEnvironment();
  t.comment(`base seed ${baseSeed}`);
  const verdicts = { linearizable: 0, 'not-linearizable': 0, undecided: 0 };
  for (let run = 0; run < 150; run += 1) {
    const seed = (baseSeed + run) >>> 0;
    const history = simulateHistory({
      seed, clients: 4, keys: 1, operations: 36, unknownProbability: 0.2, integerTimes: run % 2 === 0,
      mode: run % 3 === 0 ? 'correct' : 'stale-cache', staleReadProbability: 0.2,
    });
    const raw = searchLinearization(kvRegisterModel, history, 200_000);
    if (raw.kind === 'budget-exceeded') {
      verdicts.undecided += 1;
      continue;
    }
    const expected = raw.kind;
    const outcome = checkHistory(history).outcome;
    verdicts[expected] += 1;
    t.equal(outcome, expected, `seed ${seed}`);
  }
  t.comment(`unprepared verdicts: ${JSON.stringify(verdicts)}`);
  t.ok(verdicts.linearizable >= 20 && verdicts['not-linearizable'] >= 20, 'both verdicts were compared often');
});
