import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkHistory } from '../../src/linearizability/checker.js';
import {
  decodeHistoryLines, encodeOperations, mergeHistories, operationsFromEvents,
} from '../../src/linearizability/history-codec.js';
import { FileHistorySink, readHistoryFiles } from '../../src/linearizability/history-file.js';
import { HistoryFormatError } from '../../src/linearizability/history.js';
import { HistoryRecorder, monotonicClock, type Clock, type HistorySink } from '../../src/linearizability/recorder.js';
import { cas, del, get, put, timedOut } from './operations.js';

/** A clock the test moves by hand. */
class ManualClock implements Clock {
  nowMsValue = 0;
  nowMs(): number {
    return this.nowMsValue;
  }
}

class MemorySink implements HistorySink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

t.test('the recorder turns invoke/ok/unknown into operations and writes one line per event', async (t) => {
  const clock = new ManualClock();
  const sink = new MemorySink();
  const recorder = new HistoryRecorder({ clientId: 3, clock, sink });
  clock.nowMsValue = 10;
  const first = recorder.invoke('k', { kind: 'put', value: 'a' });
  clock.nowMsValue = 12;
  const second = recorder.invoke('k', { kind: 'get' });
  clock.nowMsValue = 15;
  recorder.ok(second, { value: null });
  clock.nowMsValue = 40;
  recorder.unknown(first);
  const third = recorder.invoke('k', { kind: 'cas', expected: 'a', value: 'b' });
  t.equal(recorder.pendingCount, 1);
  t.same(recorder.operations(), [
    { clientId: 3, key: 'k', input: { kind: 'put', value: 'a' }, callMs: 10, output: { kind: 'unknown' }, returnMs: Infinity },
    { clientId: 3, key: 'k', input: { kind: 'get' }, callMs: 12, output: { kind: 'ok', value: null }, returnMs: 15 },
    { clientId: 3, key: 'k', input: { kind: 'cas', expected: 'a', value: 'b' }, callMs: 40, output: { kind: 'unknown' }, returnMs: Infinity },
  ], 'a still-pending operation counts as an unknown outcome');
  t.equal(sink.lines.length, 5);
  t.ok(sink.lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
  t.same(operationsFromEvents(decodeHistoryLines(sink.lines.join(''), 'memory')), recorder.operations(),
    'the lines decode to the same operations, the unfinished invoke as unknown');
  t.throws(() => recorder.ok(second, { value: null }), RangeError, 'an operation completes once');
  t.throws(() => recorder.ok({ clientId: 9, opId: third.opId }, { succeeded: true }), RangeError, 'tokens belong to one client');
});

t.test('the recorder refuses outputs that do not fit and clocks that go back, and keeps the operation pending', async (t) => {
  const clock = new ManualClock();
  const recorder = new HistoryRecorder({ clientId: 1, clock, pendingOperationsMax: 2 });
  const token = recorder.invoke('k', { kind: 'get' });
  t.throws(() => recorder.ok(token, {}), HistoryFormatError, 'a get must carry the value read');
  t.equal(recorder.pendingCount, 1);
  recorder.invoke('k', { kind: 'get' });
  t.throws(() => recorder.invoke('k', { kind: 'get' }), RangeError, 'pendingOperationsMax');
  clock.nowMsValue = -1;
  t.throws(() => recorder.ok(token, { value: null }), /Clock went backwards/);
  t.throws(() => new HistoryRecorder({ clientId: -1, clock }), RangeError);
});

t.test('the monotonic clock does not go back and is comparable across calls', async (t) => {
  const samples = Array.from({ length: 1000 }, () => monotonicClock.nowMs());
  t.ok(samples.every((value, index) => index === 0 || value >= (samples[index - 1] as number)));
});

t.test('histories round-trip through JSON lines', async (t) => {
  const history = [
    put(1, 'a', 'x', [0, 1.5]), get(2, 'a', 'x', [2, 3]), get(2, 'b', null, [3.25, 4]),
    cas(1, 'a', { expected: null, value: 'y', succeeded: false }, [2, 5]), del(3, 'a', undefined, [6, 7]), del(3, 'b', false, [8, 9]),
    timedOut(put(4, 'a', 'z', [1, 2])),
  ];
  const back = mergeHistories([{ source: 'one', text: encodeOperations(history) }]);
  const order = (list: typeof history): typeof history => [...list].sort((p, q) => p.callMs - q.callMs || p.clientId - q.clientId);
  t.same(back, order(history));
});

t.test('client files are merged; an invoke whose client died is an unknown outcome', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'bt-linearizability-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const clock = new ManualClock();
  const paths = [join(directory, 'client-1.jsonl'), join(directory, 'client-2.jsonl')];
  const sinks = paths.map((path) => new FileHistorySink(path));
  const [writer, reader] = [0, 1].map((index) => new HistoryRecorder({ clientId: index + 1, clock, sink: sinks[index] as FileHistorySink }));
  if (writer === undefined || reader === undefined) throw new Error('two recorders expected');
  clock.nowMsValue = 1;
  writer.invoke('k', { kind: 'put', value: 'a' });
  clock.nowMsValue = 5;
  const read = reader.invoke('k', { kind: 'get' });
  clock.nowMsValue = 6;
  reader.ok(read, { value: 'a' });
  for (const sink of sinks) sink.close();
  t.throws(() => sinks[0]?.write('x\n'), /sink is closed/);
  const merged = await readHistoryFiles(paths);
  t.same(merged.map((operation) => [operation.clientId, operation.output.kind, operation.returnMs]), [[1, 'unknown', Infinity], [2, 'ok', 6]]);
  t.equal(checkHistory(merged).outcome, 'linearizable', 'the put the dead client made may have taken effect');
  t.match(await readFile(paths[0] as string, 'utf8'), /^\{"event":"invoke","clientId":1,"opId":0,"key":"k"/);
});

t.test('damaged or inconsistent history files are HistoryFormatError naming file and line', async (t) => {
  const invoke = '{"event":"invoke","clientId":1,"opId":0,"key":"k","input":{"kind":"get"},"atMs":1}';
  const hostile: readonly [string, string, RegExp][] = [
    ['not JSON', '{"event":', /f:1/],
    ['an array', '[1,2]', /expected an object/],
    ['an unknown event', '{"event":"maybe","clientId":1,"opId":0,"atMs":1}', /not invoke, ok or unknown/],
    ['a negative client', '{"event":"unknown","clientId":-1,"opId":0,"atMs":1}', /clientId must be a non-negative integer/],
    ['a time that is a string', '{"event":"unknown","clientId":1,"opId":0,"atMs":"1"}', /atMs must be a finite number/],
    ['an unknown input kind', '{"event":"invoke","clientId":1,"opId":0,"key":"k","input":{"kind":"incr"},"atMs":1}', /input.kind "incr"/],
    ['a put without value', '{"event":"invoke","clientId":1,"opId":0,"key":"k","input":{"kind":"put"},"atMs":1}', /input.value must be a string/],
    ['a number as key', '{"event":"invoke","clientId":1,"opId":0,"key":7,"input":{"kind":"get"},"atMs":1}', /key must be a string/],
    ['a read value that is a number', `\n\n${invoke}\n{"event":"ok","clientId":1,"opId":0,"output":{"value":3},"atMs":2}`, /f:4: output.value/],
    ['succeeded as a string', `${invoke}\n{"event":"ok","clientId":1,"opId":0,"output":{"succeeded":"yes"},"atMs":2}`, /output.succeeded/],
    ['a completion without invoke', '{"event":"unknown","clientId":1,"opId":0,"atMs":1}', /completes but was never invoked/],
    ['an invoke twice', `${invoke}\n${invoke}`, /invoke of client 1 operation 0 appears twice/],
    ['a return before its call', `${invoke.replace('"atMs":1', '"atMs":9')}\n{"event":"ok","clientId":1,"opId":0,"output":{"value":null},"atMs":2}`, /returnMs 2/],
  ];
  for (const [name, text, message] of hostile) {
    t.throws(() => mergeHistories([{ source: 'f', text }]), { name: 'HistoryFormatError', message }, name);
  }
});

t.test('a written file is plain JSON lines that a person can edit into a test case', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'bt-linearizability-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const path = join(directory, 'failing.jsonl');
  await writeFile(path, encodeOperations([put(1, 'x', 'a', [0, 1]), get(2, 'x', null, [2, 3])]));
  const result = checkHistory(await readHistoryFiles([path]));
  t.equal(result.outcome, 'not-linearizable');
});
