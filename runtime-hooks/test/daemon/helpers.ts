import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findEtcdProcesses, terminate, unmountSecretsTmpfs } from '@berth/secrets';
import { readdir } from 'node:fs/promises';
import { callDaemon } from '../../src/daemon/client.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const berthdBin = join(repo, 'runtime-hooks/bin/berthd.js');
export const berthBin = join(repo, 'runtime-hooks/bin/berth.js');

export interface TeardownTarget { teardown(fn: () => unknown): void }

/** The environment for spawned programs, without tap's instrumentation (NODE_OPTIONS, TAP_*, _TAPJS_*). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(name)));
  return { ...env, ...extra };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface BerthdHandle {
  readonly name: string;
  readonly root: string;
  readonly socket: string;
  /** Its BERTH_RUN_DIR: containers' secrets tmpfs are mounted under `<runDir>/secrets/`. */
  readonly runDir: string;
  readonly joinAddress: string;
  readonly ports: { join: number; client: number; peer: number };
  process: ChildProcess;
  readonly stderr: string[];
  start(): Promise<void>;
  api(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  /** `berth ARGS` against this berthd; `input` is its stdin (tokens, secret values, unlock keys: never argv). */
  cli(args: readonly string[], input?: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The last lines of its log file (without repeated poll failures), for a failing assertion's diagnosis. */
  logTail(lines: number): Promise<string>;
  /** `berth cluster join --token-file - ADDRESS` with the token on stdin. */
  join(token: string, address: string, extraArgs?: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  exited(): Promise<{ code: number | null; signal: string | null }>;
}

/**
 * A berthd on 127.0.0.1 with its own root, socket and ports. Teardown SIGKILLs it and any etcd left on its data
 * dir (found by data dir, as the supervisor does), then removes the root.
 */
async function makeBerthd(cleanups: Array<() => Promise<void>>, base: string, firewallNetns: string, name: string, extraArgs: readonly string[]): Promise<BerthdHandle> {
  const root = join(base, name);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const ports = { join: await freePort(), client: await freePort(), peer: await freePort() };
  const socket = join(base, `${name}.sock`);
  const runDir = join(base, `${name}.run`);
  const stderr: string[] = [];
  let exit: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({ code: null, signal: null });
  const handle: BerthdHandle = {
    name, root, socket, runDir, ports, stderr, joinAddress: `127.0.0.1:${ports.join}`,
    process: undefined as unknown as ChildProcess,
    async start() {
      const child = spawn(process.execPath, [berthdBin, '--root', root, '--socket', socket, '--run-dir', runDir, '--advertise', `127.0.0.1:${ports.join}`,
        '--etcd-client-port', String(ports.client), '--etcd-peer-port', String(ports.peer), '--lease-ttl', '3',
        '--cni-conf-dir', join(base, `${name}.cni`), '--firewall-netns', firewallNetns, ...extraArgs], {
        stdio: ['ignore', 'ignore', 'pipe'], env: childEnv({ BERTH_LOG_FILE: join(base, `${name}.log`), BERTH_LOG_LEVEL: 'info' }),
      });
      handle.process = child;
      exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      const ready = new Promise<void>((resolve, reject) => {
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (chunk: string) => {
          stderr.push(chunk);
          if (chunk.includes('berthd: ready')) resolve();
        });
        void exit.then(({ code }) => reject(new Error(`berthd ${name} exited (${code}) before ready: ${stderr.join('')}`)));
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`berthd ${name} not ready in 30 s`)), 30_000); });
      try {
        await Promise.race([ready, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    api: (method, path, body) => callDaemon({ socketPath: socket, method, path, body, timeoutMs: 120_000 }),
    cli: (args, stdin) => runCli(socket, args, stdin),
    logTail: async (lines) => (await readFile(join(base, `${name}.log`), 'utf8').catch(() => '')).split('\n')
      .filter((line) => !line.includes('poll failed')).slice(-lines).join('\n'),
    join: (token, address, extraArgs = []) => runCli(socket, ['cluster', 'join', '--token-file', '-', address, ...extraArgs], `${token}\n`),
    exited: () => exit,
  };
  cleanups.push(async () => {
    if (handle.process !== undefined && handle.process.exitCode === null && handle.process.signalCode === null) handle.process.kill('SIGKILL');
    for (const orphan of await findEtcdProcesses(join(root, 'etcd', 'data'))) await terminate(orphan, 5_000);
    for (const container of await readdir(join(runDir, 'secrets')).catch(() => [])) await unmountSecretsTmpfs(join(runDir, 'secrets', container));
  });
  return handle;
}

function runCli(socket: string, args: readonly string[], stdin?: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [berthBin, ...args], { env: childEnv({ BERTH_SOCKET: socket }), timeout: 180_000 }, (error, stdout, stderrText) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr: stderrText });
    });
    child.stdin?.end(stdin ?? '');
  });
}

export interface Hosts {
  readonly base: string;
  add(name: string, extraArgs?: readonly string[]): Promise<BerthdHandle>;
}

/** A temp dir for several berthds; one teardown kills them all (and their etcd) and then removes the dir. */
export async function makeHosts(t: TeardownTarget): Promise<Hosts> {
  const id = randomBytes(4).toString('hex');
  const base = `/tmp/bt-berthd-${id}`;
  await mkdir(base, { recursive: true, mode: 0o700 });
  // These berthds run in the root namespace (their ports are on its loopback); the firewall tables their cluster
  // policies make go to a namespace of the test's own, never the root's.
  const firewallNetns = `bt-fw-${id}`;
  await run('ip', ['netns', 'add', firewallNetns]);
  const cleanups: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await run('ip', ['netns', 'delete', firewallNetns]).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });
  return { base, add: (name, extraArgs = []) => makeBerthd(cleanups, base, `/run/netns/${firewallNetns}`, name, extraArgs) };
}

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(file, [...args], (error) => (error === null ? resolve() : reject(error))));
}

export async function waitFor(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 20_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}
