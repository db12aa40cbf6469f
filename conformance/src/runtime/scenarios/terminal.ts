import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execCommand } from '../../harness/exec.js';
import { check, checkEqual, type Scenario } from '../scenario.js';
import { runSleeper } from './lifecycle.js';

/**
 * Receives a pty master over a console socket as an engine does (SCM_RIGHTS; Node cannot receive fds, Python's
 * socket.recv_fds can), then prints what the container writes to its terminal until it closes.
 */
const consoleReceiver = `
import socket, sys, os
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1]); server.listen(1); server.settimeout(20)
print("listening", flush=True)
connection, _ = server.accept()
message, fds, _, _ = socket.recv_fds(connection, 4096, 1)
master = fds[0]
print("received", message.decode(), os.isatty(master), flush=True)
output = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    output += chunk
sys.stdout.write(output.decode().replace("\\r", ""))
`;

export const terminalScenarios: readonly Scenario[] = [
  {
    name: 'terminal in the foreground',
    async run(context) {
      const config = context.config(['sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty; stty size']);
      config.process = { ...config.process, terminal: true, consoleSize: { height: 30, width: 100 } };
      const bundle = await context.bundle(config);
      const command = context.runtime.argv(['run', '--bundle', bundle, context.newId()]).map((word) => `'${word}'`).join(' ');
      // script(1) gives the runtime a pty of its own as its stdin/stdout, like a user's terminal.
      const result = await execCommand(['script', '-qec', `stty cols 100 rows 30; ${command}`, '/dev/null'], { timeoutMs: 20_000 });
      checkEqual(result.code, 0, `exit code (${result.stderr.trim()} ${result.stdout.trim()})`);
      const lines = result.stdout.replace(/\r/g, '').split('\n').filter(Boolean);
      checkEqual(lines.join('|'), '/dev/pts/0|stdio-is-a-tty|30 100', 'tty, stdio and size inside');
    },
  },
  {
    name: 'exec -t in the foreground',
    async run(context) {
      const id = await runSleeper(context);
      const command = context.runtime.argv(['exec', '-t', id, 'sh', '-c', 'tty; [ -t 1 ] && echo stdout-is-a-tty; exit 3']).map((word) => `'${word}'`).join(' ');
      const result = await execCommand(['script', '-qec', command, '/dev/null'], { timeoutMs: 20_000 });
      checkEqual(result.code, 3, `exit code (${result.stderr.trim()} ${result.stdout.trim()})`);
      checkEqual(result.stdout.replace(/\r/g, '').split('\n').filter(Boolean).join('|'), '/dev/pts/0|stdout-is-a-tty', 'tty inside');
    },
  },
  {
    name: 'terminal over a console socket',
    async run(context) {
      const config = context.config(['sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-a-tty; stty size']);
      config.process = { ...config.process, terminal: true, consoleSize: { height: 24, width: 80 } };
      const bundle = await context.bundle(config);
      const socketPath = join(context.dir, 'console.sock');
      const receiver = spawn('/usr/bin/python3', ['-c', consoleReceiver, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      receiver.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      const receiverDone = new Promise<number>((resolve) => receiver.on('exit', (code) => resolve(code ?? 1)));
      try {
        for (let waited = 0; waited < 200 && !output.includes('listening'); waited += 1) await sleep(10);
        const id = context.newId();
        const created = await context.runtime.detached(['create', '--bundle', bundle, '--console-socket', socketPath, id], join(context.dir, 'out'));
        checkEqual(created.code, 0, `create exit code (${created.stderr.trim()})`);
        checkEqual((await context.runtime.run(['start', id])).code, 0, 'start exit code');
        const code = await Promise.race([receiverDone, sleep(10_000).then(() => -1)]);
        checkEqual(code, 0, `console receiver exit code (${output})`);
        const lines = output.split('\n').filter(Boolean);
        check(/^received \S* True$/.test(lines[1] ?? ''), `received a pty master: ${lines[1]}`);
        checkEqual(lines.slice(2).join('|'), '/dev/pts/0|stdin-is-a-tty|24 80', 'what the container wrote to its terminal');
      } finally {
        receiver.kill('SIGKILL');
      }
    },
  },
];
