import { isIP } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { mountConsole, type ConsoleSources } from '../routes/console.js';
import { bodyLimit } from 'hono/body-limit';
import { InvalidArgumentError } from 'commander';
import { apiBodyBytesMax, tooLarge } from '../errors.js';
import { newConsoleToken, requireConsoleToken } from './token.js';

/** Open connections the loopback listener takes (each page holds at most one live stream). */
export const consoleConnectionsMax = 64;

export interface ConsoleAddress {
  readonly host: string;
  readonly port: number;
}

function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** `127.0.0.1:PORT` or `[::1]:PORT`: the console never listens beyond loopback (reach it remotely through an SSH tunnel). */
export function parseConsoleAddress(text: string): ConsoleAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) throw new InvalidArgumentError(`expected 127.0.0.1:PORT or [::1]:PORT, not ${JSON.stringify(text.slice(0, 60))}`);
  if (!isLoopback(host)) throw new InvalidArgumentError(`the console listens on a loopback address only (127.0.0.1 or ::1), not ${JSON.stringify(host.slice(0, 60))}; reach it from elsewhere through an SSH tunnel`);
  return { host, port };
}

/** The console alone (no /v1 API) on a loopback TCP port, every request checked against this start's token. */
export async function startConsoleListener(sources: ConsoleSources, address: ConsoleAddress): Promise<{ server: Server; url: string }> {
  const token = newConsoleToken();
  const app = new Hono();
  app.use('/console/*', bodyLimit({ maxSize: apiBodyBytesMax, onError: tooLarge }), requireConsoleToken(token));
  mountConsole(app, sources);
  app.notFound((c) => c.text('Not found: the console is at /console\n', 404));
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.headersTimeout = 10_000;
  server.maxConnections = consoleConnectionsMax;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return { server, url: `http://${host}:${address.port}/console?token=${token}` };
}
