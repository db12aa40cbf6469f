import t from 'tap';
import { CallReader, callEnvBytesMax, callStdinBytesMax, decodeAnswer, encodeAnswer, encodeCall, FrameError } from '../../src/agent/frames.js';
import { CallLimiter } from '../../src/agent/limiter.js';

t.test('a call frame round-trips, whole or byte by byte', async (t) => {
  const call = { env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=x=y', CNI_PATH: '' }, stdin: Buffer.from('{"cniVersion":"1.1.0"}') };
  const frame = encodeCall(call);
  t.same(new CallReader().push(frame), call);
  const reader = new CallReader();
  let decoded;
  for (const byte of frame) decoded = reader.push(Buffer.from([byte]));
  t.same(decoded, call);
});

t.test('hostile call frames are refused before anything runs', async (t) => {
  const cases: [string, Buffer][] = [
    ['a variable that is not CNI_', encodeCall({ env: { NODE_OPTIONS: '--require x' }, stdin: Buffer.alloc(0) })],
    ['a lower-case name', encodeCall({ env: { cni_command: 'ADD' }, stdin: Buffer.alloc(0) })],
    ['an oversized environment', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['oversized stdin', Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff])])],
    ['an entry without NUL', Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('CNI'), Buffer.from([0, 0, 0, 0])])],
    ['bytes after the frame', Buffer.concat([encodeCall({ env: {}, stdin: Buffer.alloc(0) }), Buffer.from('x')])],
  ];
  for (const [name, frame] of cases) t.throws(() => new CallReader().push(frame), FrameError, name);
  const twice = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('CNI_A=1\0CNI_A=2\0'), Buffer.from([0, 0, 0, 0])]);
  t.throws(() => new CallReader().push(twice), FrameError, 'a variable named twice');
  t.ok(callEnvBytesMax >= 4096 && callStdinBytesMax > 1024 * 1024, 'limits leave room for real calls');
});

t.test('an answer frame round-trips; stderr is cut at its limit', async (t) => {
  t.same(decodeAnswer(encodeAnswer({ exitCode: 1, stdout: '{"code":7}', stderr: 'why' })), { exitCode: 1, stdout: '{"code":7}', stderr: 'why' });
  t.equal(decodeAnswer(encodeAnswer({ exitCode: 0, stdout: '', stderr: 'x'.repeat(100_000) })).stderr.length, 64 * 1024);
  t.throws(() => decodeAnswer(Buffer.from([0, 0, 0, 0, 0, 0, 0, 9])), FrameError, 'cut short');
});

t.test('the limiter runs up to inFlightMax, queues up to queuedMax in order, and refuses beyond', async (t) => {
  const limiter = new CallLimiter(2, 1);
  const first = await limiter.tryEnter();
  const second = await limiter.tryEnter();
  const third = limiter.tryEnter();
  t.ok(first && second && third, 'two run, one waits');
  t.equal(limiter.tryEnter(), undefined, 'the fourth is refused');
  t.equal(limiter.queued, 1);
  first?.();
  first?.();
  const release = await third;
  t.equal(limiter.inFlight, 2, 'the waiter took the freed turn; a second release of the same turn changed nothing');
  release?.();
  second?.();
  t.equal(limiter.inFlight, 0);
  t.throws(() => new CallLimiter(0, 1), RangeError);
});
