import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { signalForwarder } from '../../src/runtime/signals.js';

t.test('signals that arrive before the container\'s process is known are held, then delivered to it in order', async (t) => {
  const target = spawn('/bin/sh', ['-c', 'trap "echo HUP" HUP; trap "echo TERM; exit 0" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => { target.kill('SIGKILL'); });
  let output = '';
  target.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  while (!output.includes('ready')) await once(target.stdout, 'data');
  const listenersBefore = process.listenerCount('SIGTERM');
  const forwarder = signalForwarder();
  try {
    process.kill(process.pid, 'SIGHUP');
    process.kill(process.pid, 'SIGTERM');
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(output, 'ready\n', 'held while there is no target (and this process is still alive)');
    forwarder.forwardTo(target.pid ?? 0);
    const [code] = await once(target, 'exit') as [number | null];
    t.equal(code, 0, 'the target exited on the forwarded SIGTERM');
    t.equal(output, 'ready\nHUP\nTERM\n', 'both delivered, in order');
  } finally {
    forwarder.stop();
  }
  t.equal(process.listenerCount('SIGTERM'), listenersBefore, 'stop() removed its handlers');
});
