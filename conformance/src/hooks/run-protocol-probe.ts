/**
 * Plays the other side of berthd's run service (runtime-hooks/src/daemon/run-service.ts) the way a hostile or broken
 * local client would, for the served-run tests; run inside a test host netns (berthd serves only callers in its own
 * namespaces). Prints one JSON line saying what berthd answered.
 *
 *   node run-protocol-probe.js SOCKET forged-token          attach with a token berthd never gave
 *   node run-protocol-probe.js SOCKET other-process ROOTFS  start a run, then attach to it from another process
 *   node run-protocol-probe.js SOCKET foreign-helper ROOTFS start a run, attach, report its parent as berth-init
 *   node run-protocol-probe.js SOCKET bad-frame             a call frame carrying a non-BERTH_ variable
 *   node run-protocol-probe.js SOCKET status                only the upgrade's status line (as whoever runs this)
 *   node run-protocol-probe.js SOCKET attach TOKEN          (the other process of other-process)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const upgrade = (path: string): string =>
  `POST ${path} HTTP/1.1\r\nHost: berthd\r\nConnection: Upgrade\r\nUpgrade: berth-run/1\r\nContent-Length: 0\r\n\r\n`;

/** Connects and asks for the upgrade; resolves with the status line and the socket (its data after the head). */
function open(socketPath: string, path: string): Promise<{ status: string; socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    let buffer = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(upgrade(path)));
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ status: buffer.subarray(0, buffer.indexOf('\r\n')).toString(), socket, rest: buffer.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('end', () => resolve({ status: buffer.toString().split('\r\n')[0] ?? '', socket, rest: Buffer.alloc(0) }));
  });
}

function frame(args: readonly string[], env: readonly string[]): Buffer {
  const payload = Buffer.from([process.cwd(), String(args.length), ...args, ...env].map((field) => `${field}\0`).join(''));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

/** Everything the connection says until it closes (bounded in time). */
function drain(socket: Socket, first: Buffer, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve) => {
    let text = first.toString();
    const timer = setTimeout(() => { socket.destroy(); resolve(`${text}<timeout>`); }, timeoutMs);
    socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    socket.on('close', () => { clearTimeout(timer); resolve(text); });
  });
}

/** The first line the control connection sends after the frame. */
function firstLine(socket: Socket, rest: Buffer): Promise<string> {
  return new Promise((resolve) => {
    let text = rest.toString();
    const check = (): boolean => {
      const end = text.indexOf('\n');
      if (end < 0) return false;
      socket.off('data', onData);
      resolve(text.slice(0, end));
      return true;
    };
    const onData = (chunk: Buffer): void => { text += chunk.toString(); check(); };
    if (!check()) socket.on('data', onData);
    socket.once('close', () => resolve(text));
  });
}

const berthEnv = (): string[] => Object.entries(process.env).filter(([name]) => name.startsWith('BERTH_')).map(([name, value]) => `${name}=${value ?? ''}`);

async function startRun(socketPath: string, rootfs: string): Promise<{ socket: Socket; token: string }> {
  const control = await open(socketPath, '/v1/run');
  if (!control.status.startsWith('HTTP/1.1 101')) throw new Error(`run not served: ${control.status}`);
  control.socket.write(frame(['--rm', rootfs, 'sh', '-c', 'sleep 30'], berthEnv()));
  const line = await firstLine(control.socket, control.rest);
  const token = /^spawn ([0-9a-f]{32})$/.exec(line)?.[1];
  if (token === undefined) throw new Error(`expected spawn, got ${JSON.stringify(line)}`);
  return { socket: control.socket, token };
}

async function main(): Promise<unknown> {
  const [socketPath = '', scenario = '', argument = ''] = process.argv.slice(2);
  switch (scenario) {
    case 'status':
    case 'forged-token': {
      const { status, socket } = await open(socketPath, scenario === 'status' ? '/v1/run' : `/v1/run/${randomBytes(16).toString('hex')}`);
      socket.destroy();
      return { status };
    }
    case 'attach': {
      const { status, socket } = await open(socketPath, `/v1/run/${argument}`);
      socket.destroy();
      return { status };
    }
    case 'other-process': {
      const { socket, token } = await startRun(socketPath, argument);
      const other = spawnSync(process.execPath, [fileURLToPath(import.meta.url), socketPath, 'attach', token], { encoding: 'utf8', timeout: 20_000 });
      const { status } = JSON.parse(other.stdout) as { status: string };
      socket.destroy();
      return { otherProcess: status };
    }
    case 'foreign-helper': {
      const { socket, token } = await startRun(socketPath, argument);
      const attach = await open(socketPath, `/v1/run/${token}`);
      socket.write(`helper ${process.ppid}\n`);
      const answer = await drain(socket, Buffer.alloc(0));
      attach.socket.destroy();
      return { attach: attach.status, answer };
    }
    case 'bad-frame': {
      const control = await open(socketPath, '/v1/run');
      control.socket.write(frame(['--rm', '/', 'true'], ['PATH=/tmp/evil']));
      return { status: control.status, answer: await drain(control.socket, control.rest) };
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

main().then((result) => process.stdout.write(`${JSON.stringify(result)}\n`), (error: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
});
