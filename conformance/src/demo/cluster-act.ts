import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { DemoStage } from './stage.js';

const readyTimeoutMs = 60_000;
const stopTimeoutMs = 20_000;

/** Act 3: berthd on the demo host, `berth cluster init` makes a one-member etcd cluster, then a clean SIGTERM. */
export async function runClusterAct(stage: DemoStage): Promise<void> {
  stage.act('A one-host cluster: berthd supervising its etcd member, formed with berth cluster init');
  const socket = join(stage.root, 'berthd.sock');
  stage.env['BERTH_SOCKET'] = socket;
  const berthd = spawn('nsenter', [`--net=${stage.host.path}`, '--', process.execPath, stage.berthdPath,
    '--root', join(stage.root, 'berthd'), '--socket', socket, '--advertise', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...stage.env, BERTH_LOG_FILE: join(stage.root, 'berthd.log') },
  });
  const exited = once(berthd, 'exit');
  stage.teardown(async () => {
    if (berthd.exitCode === null && berthd.signalCode === null) berthd.kill('SIGKILL');
    await exited;
  });
  await waitForReady(berthd);
  process.stdout.write(`$ berthd --advertise 127.0.0.1   (pid ${berthd.pid}, API on ${socket})\n`);

  await stage.berth('cluster', 'init');
  const listing = await stage.berth('cluster', 'ls');
  stage.expect(/manager/.test(listing), 'the host is listed as a manager of the cluster');
  const token = await stage.berth('cluster', 'join-token', 'worker', '-q');
  stage.expect(/^BRTTKN-1-[0-9a-f]{64}-[0-9a-f]{32}$/.test(token.trim()), 'a worker join token embeds the CA fingerprint');

  berthd.kill('SIGTERM');
  const [code] = await Promise.race([exited, timeout(stopTimeoutMs, 'berthd did not stop on SIGTERM')]);
  stage.expect(code === 0, 'berthd stops cleanly on SIGTERM, its etcd member with it');
}

function waitForReady(berthd: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`berthd not ready in ${readyTimeoutMs} ms: ${stderr}`)), readyTimeoutMs);
    berthd.stderr?.setEncoding('utf8');
    berthd.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('berthd: ready')) { clearTimeout(timer); resolve(); }
    });
    berthd.once('exit', (code) => { clearTimeout(timer); reject(new Error(`berthd exited (${code}) before ready: ${stderr}`)); });
  });
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
