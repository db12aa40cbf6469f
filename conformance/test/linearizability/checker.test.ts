import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import { describeFailure, describeOperation } from '../../src/linearizability/describe.js';
import { HistoryFormatError, type Operation } from '../../src/linearizability/history.js';
import { bruteForceLinearizable } from './brute-force.js';
import { cas, del, get, put, timedOut } from './operations.js';

interface Case {
  readonly name: string;
  readonly history: readonly Operation[];
  readonly linearizable: boolean;
  /** For a violation: the key named and an operation that must be among those reported as not linearizable. */
  readonly key?: string;
  readonly culprit?: number;
}

const cases: readonly Case[] = [
  { name: 'an empty history', history: [], linearizable: true },
  { name: 'a get of a key never written returns null', history: [get(1, 'x', null, [0, 1])], linearizable: true },
  { name: 'a read returning a value never written', history: [put(1, 'x', 'a', [0, 1]), get(2, 'x', 'zz', [2, 3])], linearizable: false, key: 'x', culprit: 1 },
  { name: 'a get overlapping a put sees the new value', history: [put(1, 'x', 'a', [0, 10]), get(2, 'x', 'a', [2, 3])], linearizable: true },
  { name: 'a get overlapping a put sees the old value', history: [put(1, 'x', 'a', [0, 10]), get(2, 'x', null, [2, 3])], linearizable: true },
  { name: 'a get touching the end of a put (same instant) is concurrent with it', history: [put(1, 'x', 'a', [0, 5]), get(2, 'x', null, [5, 6])], linearizable: true },
  { name: 'a stale read after a completed put', history: [put(1, 'x', 'a', [0, 1]), get(2, 'x', null, [2, 3])], linearizable: false, key: 'x', culprit: 1 },
  {
    name: 'a stale read of an older completed put',
    history: [put(1, 'x', '1', [0, 1]), put(2, 'x', '2', [2, 3]), get(1, 'x', '1', [4, 5])],
    linearizable: false, key: 'x', culprit: 2,
  },
  {
    name: 'reads inverted during a concurrent put (new value, then old)',
    history: [put(1, 'x', '1', [0, 1]), put(2, 'x', '2', [2, 10]), get(3, 'x', '2', [3, 4]), get(4, 'x', '1', [5, 6])],
    linearizable: false, key: 'x', culprit: 3,
  },
  {
    name: 'reads during a concurrent put see old then new',
    history: [put(1, 'x', '1', [0, 1]), put(2, 'x', '2', [2, 10]), get(3, 'x', '1', [3, 4]), get(4, 'x', '2', [5, 6])],
    linearizable: true,
  },
  {
    name: 'a lost write: acknowledged, read back, then gone',
    history: [put(1, 'x', 'a', [0, 1]), get(2, 'x', 'a', [2, 3]), get(2, 'x', null, [4, 5])],
    linearizable: false, key: 'x', culprit: 2,
  },
  {
    name: 'a lost write under a later overwrite that was never read',
    history: [put(1, 'x', 'a', [0, 1]), put(2, 'x', 'b', [2, 3]), get(3, 'x', null, [4, 5])],
    linearizable: false, key: 'x', culprit: 2,
  },
  { name: 'cas on an absent key expecting null succeeds', history: [cas(1, 'x', { expected: null, value: 'a', succeeded: true }, [0, 1]), get(1, 'x', 'a', [2, 3])], linearizable: true },
  { name: 'cas on an absent key expecting null cannot fail', history: [cas(1, 'x', { expected: null, value: 'a', succeeded: false }, [0, 1])], linearizable: false, key: 'x', culprit: 0 },
  { name: 'cas with a wrong expectation cannot succeed', history: [put(1, 'x', 'a', [0, 1]), cas(2, 'x', { expected: 'b', value: 'c', succeeded: true }, [2, 3])], linearizable: false, key: 'x', culprit: 1 },
  { name: 'a failed cas leaves the value alone', history: [put(1, 'x', 'a', [0, 1]), cas(2, 'x', { expected: 'b', value: 'c', succeeded: false }, [2, 3]), get(1, 'x', 'a', [4, 5])], linearizable: true },
  {
    name: 'two cas from the same expected value cannot both succeed',
    history: [cas(1, 'x', { expected: null, value: 'a', succeeded: true }, [0, 5]), cas(2, 'x', { expected: null, value: 'b', succeeded: true }, [1, 6])],
    linearizable: false, key: 'x',
  },
  {
    name: 'a cas that failed because a concurrent put got in first',
    history: [put(1, 'x', 'a', [0, 1]), put(2, 'x', 'b', [2, 8]), cas(3, 'x', { expected: 'a', value: 'c', succeeded: false }, [3, 9]), get(3, 'x', 'b', [10, 11])],
    linearizable: true,
  },
  { name: 'delete then get returns null', history: [put(1, 'x', 'a', [0, 1]), del(2, 'x', true, [2, 3]), get(1, 'x', null, [4, 5])], linearizable: true },
  { name: 'delete cannot report an existing key that was absent', history: [del(1, 'x', true, [0, 1])], linearizable: false, key: 'x', culprit: 0 },
  { name: 'an unknown-outcome put that is later observed', history: [timedOut(put(1, 'x', 'a', [0, 1])), get(2, 'x', 'a', [50, 51])], linearizable: true },
  { name: 'an unknown-outcome put that is never observed', history: [timedOut(put(1, 'x', 'a', [0, 1])), get(2, 'x', null, [50, 51])], linearizable: true },
  {
    name: 'an unknown-outcome put observed, then gone without a write',
    history: [timedOut(put(1, 'x', 'a', [0, 1])), get(2, 'x', 'a', [50, 51]), get(2, 'x', null, [52, 53])],
    linearizable: false, key: 'x', culprit: 2,
  },
  {
    name: 'an unknown-outcome put observed before it was sent',
    history: [get(2, 'x', 'a', [0, 1]), timedOut(put(1, 'x', 'a', [2, 3]))],
    linearizable: false, key: 'x', culprit: 0,
  },
  {
    name: 'an unknown-outcome put explains a failed cas on an otherwise absent key',
    history: [timedOut(put(1, 'x', 'u', [0, 1])), cas(2, 'x', { expected: null, value: 'b', succeeded: false }, [5, 6])],
    linearizable: true,
  },
  {
    name: 'an unknown-outcome put explains a delete that found the key',
    history: [timedOut(put(1, 'x', 'u', [0, 1])), del(2, 'x', true, [5, 6]), get(2, 'x', null, [7, 8])],
    linearizable: true,
  },
  {
    name: 'an unknown-outcome cas observed later',
    history: [put(1, 'x', 'a', [0, 1]), timedOut(cas(1, 'x', { expected: 'a', value: 'b', succeeded: true }, [2, 3])), get(2, 'x', 'b', [40, 41])],
    linearizable: true,
  },
  { name: 'an unknown-outcome get is free', history: [timedOut(get(1, 'x', 'zz', [0, 1])), get(2, 'x', null, [2, 3])], linearizable: true },
  {
    name: 'keys are independent registers; the violation is reported on its key',
    history: [put(1, 'a', '1', [0, 1]), get(2, 'a', '1', [2, 3]), put(1, 'b', '1', [0, 1]), get(2, 'b', null, [2, 3])],
    linearizable: false, key: 'b', culprit: 3,
  },
];

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const result = checkHistory(testCase.history);
    const expected = testCase.linearizable ? 'linearizable' : 'not-linearizable';
    if (!t.equal(result.outcome, expected, 'verdict')) t.comment(describeFailure(result));
    t.equal(result.ok, testCase.linearizable);
    t.equal(bruteForceLinearizable(testCase.history), testCase.linearizable, 'the brute-force reference agrees');
    if (result.outcome !== 'not-linearizable') return;
    t.equal(result.key, testCase.key);
    if (testCase.culprit !== undefined) {
      t.ok(result.operationsNotLinearizable.includes(testCase.history[testCase.culprit] as Operation), 'the culprit is reported');
    }
    t.ok(result.operationsNotLinearizable.length > 0, 'at least one operation is reported');
  });
}

t.test('describeFailure names the stuck operation, its times, the key state and why it does not fit', async (t) => {
  const history = [put(1, 'x', '1', [100, 101]), put(2, 'x', '2', [102, 103]), get(1, 'x', '1', [104, 105])];
  const result = checkHistory(history);
  const text = describeFailure(result);
  t.comment(text);
  t.match(text, /not linearizable on key "x": after 2 operations the key held "2"/);
  t.match(text, /client 1 {2}get → "1" +\[\+4\.000, \+5\.000\] {2}get → "1", but the key held "2"/);
  t.match(text, /partial linearization \(t0 = 100\.000 ms\):\n {2}1\. client 1 {2}put "1" → ok/);
  t.match(text, /2\. client 2 {2}put "2" → ok +\[\+2\.000, \+3\.000\]/);
});

t.test('describeFailure shortens a long partial linearization', async (t) => {
  const history = [...Array.from({ length: 30 }, (_, index) => put(1, 'x', `v${index}`, [index * 2, index * 2 + 1])),
    timedOut(put(2, 'x', 'u', [70, 71])), get(3, 'x', 'nobody', [72, 73])];
  const text = describeFailure(checkHistory(history), { partialLinearizationShownMax: 3 });
  t.comment(text);
  t.match(text, /… \d+ earlier operations/);
  t.notMatch(text, / 1\. client/);
  t.match(text, /get → "nobody"/);
});

t.test('an unknown outcome is described as timed out, returning at +∞', async (t) => {
  const text = describeOperation(timedOut(cas(4, 'x', { expected: 'a', value: 'b', succeeded: true }, [10.5, 11])), 10);
  t.equal(text, 'client 4  cas "a"→"b" → unknown (timed out) [+0.500, +∞]');
});

t.test('an exhausted budget answers unknown, never a verdict', async (t) => {
  const history = [
    ...Array.from({ length: 6 }, (_, index) => put(index, 'x', `v${index}`, [0, 10])),
    get(7, 'x', 'v0', [11, 12]),
  ];
  const result = checkHistory(history, { visitedStatesMax: 3 });
  t.equal(result.outcome, 'unknown');
  t.equal(result.ok, false, 'an undecided history is not reported as linearizable');
  t.match(describeFailure(result), /undecided: the search visited 4 states \(visitedStatesMax 3\)/);
  t.equal(checkHistory(history).outcome, 'linearizable', 'the default budget decides it');
});

t.test('a proven violation on another key wins over an undecided key', async (t) => {
  const undecided = Array.from({ length: 6 }, (_, index) => put(index, 'a', `v${index}`, [0, 10]));
  const result = checkHistory([...undecided, get(7, 'a', 'v0', [11, 12]), get(1, 'b', 'ghost', [0, 1])], { visitedStatesMax: 3 });
  t.equal(result.outcome, 'not-linearizable');
  t.equal(result.ok === false && 'key' in result ? result.key : null, 'b');
});

t.test('malformed operations are rejected with HistoryFormatError', async (t) => {
  const hostile: readonly [string, Operation][] = [
    ['return before call', put(1, 'x', 'a', [5, 4])],
    ['unknown with a finite return', { ...put(1, 'x', 'a', [0, 1]), output: { kind: 'unknown' } }],
    ['known with an infinite return', put(1, 'x', 'a', [0, Infinity])],
    ['a get without the value read', { ...get(1, 'x', null, [0, 1]), output: { kind: 'ok' } }],
    ['a cas without succeeded', { ...cas(1, 'x', { expected: null, value: 'a', succeeded: true }, [0, 1]), output: { kind: 'ok' } }],
    ['a call time that is not a number', put(1, 'x', 'a', [Number.NaN, 1])],
  ];
  for (const [name, operation] of hostile) {
    t.throws(() => checkHistory([operation]), HistoryFormatError, name);
  }
  t.throws(() => checkHistory([], { visitedStatesMax: 0 }), RangeError);
});
