import t from 'tap';
import type { KvInput, KvOutput } from '../../src/linearizability/history.js';
import { kvRegisterModel, type RegisterState } from '../../src/linearizability/model.js';

const ok = (fields: { value?: string | null; succeeded?: boolean } = {}): KvOutput => ({ kind: 'ok', ...fields });
const unknown: KvOutput = { kind: 'unknown' };

/** [state, input, output, the state after it, or 'illegal'] */
const steps: readonly [RegisterState, KvInput, KvOutput, RegisterState | 'illegal'][] = [
  [null, { kind: 'put', value: 'a' }, ok(), 'a'],
  ['a', { kind: 'put', value: 'b' }, ok(), 'b'],
  [null, { kind: 'get' }, ok({ value: null }), null],
  [null, { kind: 'get' }, ok({ value: 'a' }), 'illegal'],
  ['a', { kind: 'get' }, ok({ value: null }), 'illegal'],
  ['a', { kind: 'get' }, ok({ value: 'a' }), 'a'],
  [null, { kind: 'cas', expected: null, value: 'a' }, ok({ succeeded: true }), 'a'],
  [null, { kind: 'cas', expected: null, value: 'a' }, ok({ succeeded: false }), 'illegal'],
  ['a', { kind: 'cas', expected: null, value: 'b' }, ok({ succeeded: false }), 'a'],
  ['a', { kind: 'cas', expected: 'a', value: 'b' }, ok({ succeeded: true }), 'b'],
  ['a', { kind: 'cas', expected: 'x', value: 'b' }, ok({ succeeded: true }), 'illegal'],
  ['a', { kind: 'delete' }, ok(), null],
  ['a', { kind: 'delete' }, ok({ succeeded: true }), null],
  ['a', { kind: 'delete' }, ok({ succeeded: false }), 'illegal'],
  [null, { kind: 'delete' }, ok({ succeeded: false }), null],
  [null, { kind: 'delete' }, ok({ succeeded: true }), 'illegal'],
  ['a', { kind: 'get' }, unknown, 'a'],
  ['a', { kind: 'put', value: 'b' }, unknown, 'b'],
  ['a', { kind: 'cas', expected: 'a', value: 'b' }, unknown, 'b'],
  ['a', { kind: 'cas', expected: 'x', value: 'b' }, unknown, 'a'],
  ['a', { kind: 'delete' }, unknown, null],
];

t.test('the register steps like one etcd key', async (t) => {
  for (const [state, input, output, expected] of steps) {
    const result = kvRegisterModel.step(state, input, output);
    const name = `${JSON.stringify(state)} ${JSON.stringify(input)} ${JSON.stringify(output)}`;
    if (expected === 'illegal') {
      t.equal(result.ok, false, name);
      if (!result.ok) t.match(result.reason, state === null ? /the key was absent/ : /the key held "a"/);
    } else {
      t.same(result, { ok: true, next: expected }, name);
    }
  }
});

t.test('equal states hash equally and absent differs from every string', async (t) => {
  for (const value of ['', 'a', 'null', 'c1-27']) {
    t.equal(kvRegisterModel.hash(value), kvRegisterModel.hash(`${value}`));
    t.not(kvRegisterModel.hash(value), kvRegisterModel.hash(null), JSON.stringify(value));
    t.notOk(kvRegisterModel.equal(value, null));
  }
  t.equal(kvRegisterModel.describeState(null), 'absent');
  t.equal(kvRegisterModel.describeState('a'), '"a"');
});
