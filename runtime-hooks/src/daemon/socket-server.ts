import { createConnection } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';

/** Whether something answers on the socket path (a live berthd) or it is a stale leftover. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Serves the app on a unix socket with mode 0600 (created under umask 077, so it is never briefly wider), in a
 * directory created 0700 when missing. Node cannot read SO_PEERCRED, so peers of another uid are kept out by these
 * permissions alone: the kernel refuses their connect() with EACCES. (root can always connect.)
 */
export async function listenOnSocket(app: Hono, path: string): Promise<Server> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await lstat(path).catch(() => undefined);
  if (existing !== undefined) {
    if (!existing.isSocket()) throw new Error(`Cannot listen on ${path}: a non-socket file is in the way`);
    if (await socketAnswers(path)) throw new Error(`Cannot listen on ${path}: another berthd is serving it`);
    await unlink(path);
  }
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.headersTimeout = 10_000;
  server.requestTimeout = 180_000;
  const previousUmask = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previousUmask);
  }
  await chmod(path, 0o600);
  return server;
}
