/**
 * A stand-in for berthd's task API (CONTRACTS.md "Tasks") until the secrets issue lands: POST /v1/tasks mounts a
 * small tmpfs at <runDir>/secrets/<id> holding the secrets the test put in `secrets`, and answers as berthd will;
 * DELETE unmounts and removes it. `mode` makes it answer as a berthd without a cluster, or refuse.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, mount, umount2 } from '@berth/netns-napi';

export type FakeBerthdMode = 'deliver' | 'not-in-cluster' | 'refuse';

export interface FakeBerthd {
  readonly socket: string;
  readonly runDir: string;
  mode: FakeBerthdMode;
  /** Secret name → value, written into every new task's tmpfs. */
  readonly secrets: Map<string, string>;
  /** Registered tasks (container id → service). */
  readonly tasks: Map<string, string>;
  readonly calls: string[];
  taskIds(): Promise<string[]>;
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

export async function startFakeBerthd(socket: string, runDir: string): Promise<FakeBerthd> {
  const secretsRoot = join(runDir, 'secrets');
  const state = { mode: 'deliver' as FakeBerthdMode };
  const secrets = new Map<string, string>();
  const tasks = new Map<string, string>();
  const calls: string[] = [];
  const drop = (id: string): void => {
    try { umount2(join(secretsRoot, id), MNT_DETACH); } catch { /* not mounted */ }
    rmSync(join(secretsRoot, id), { recursive: true, force: true });
    tasks.delete(id);
  };
  const server = createServer((req, res) => {
    calls.push(`${req.method ?? ''} ${req.url ?? ''}`);
    void (async () => {
      if (state.mode === 'not-in-cluster') return answer(res, 409, { error: { code: 'NOT_IN_CLUSTER', message: 'This host is not in a cluster' } });
      if (state.mode === 'refuse') return answer(res, 500, { error: { code: 'INTERNAL', message: 'Internal error; see the berthd log' } });
      if (req.method === 'POST' && req.url === '/v1/tasks') {
        const request = await body(req);
        const id = String(request['containerId']);
        const dir = join(secretsRoot, id);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        mount('tmpfs', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'size=1m,mode=0700');
        for (const [name, value] of secrets) writeFileSync(join(dir, name), value, { mode: 0o400 });
        tasks.set(id, String(request['service']));
        return answer(res, 201, { containerId: id, secretsDir: dir, secrets: [...secrets.keys()] });
      }
      const match = /^\/v1\/tasks\/([^/]+)$/.exec(req.url ?? '');
      if (req.method === 'DELETE' && match !== null) {
        drop(decodeURIComponent(match[1] ?? ''));
        return answer(res, 200, {});
      }
      // What it does not model it answers as a berthd outside a cluster does (networks, policies, secrets: local).
      return answer(res, 409, { error: { code: 'NOT_INITIALIZED', message: 'This host is not in a cluster' } });
    })().catch((error: unknown) => answer(res, 500, { error: { code: 'INTERNAL', message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket, runDir, secrets, tasks, calls,
    taskIds: () => Promise.resolve([...tasks.keys()]),
    get mode() { return state.mode; },
    set mode(value: FakeBerthdMode) { state.mode = value; },
    close: async () => {
      for (const id of [...tasks.keys()]) drop(id);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
