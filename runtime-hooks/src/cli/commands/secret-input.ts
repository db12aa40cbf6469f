import { open } from 'node:fs/promises';
import { DaemonClientError } from '../../daemon/client.js';

/**
 * Reads a secret value from FILE or `-` (stdin), refusing more than `limit` bytes without reading past it. The
 * caller zeroes the buffer after use. The value never appears on argv.
 */
export async function readSecretInput(source: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const add = (chunk: Buffer): void => {
    size += chunk.length;
    chunks.push(chunk);
    if (size > limit) {
      for (const part of chunks) part.fill(0);
      throw new DaemonClientError('SECRET_TOO_LARGE', `Secret value from ${source === '-' ? 'stdin' : source} is larger than the limit of ${limit} bytes (500 KiB)`);
    }
  };
  if (source === '-') {
    for await (const chunk of process.stdin) add(Buffer.from(chunk as Buffer));
  } else {
    const handle = await open(source, 'r').catch((error: NodeJS.ErrnoException) => {
      throw new DaemonClientError('USAGE', `Cannot read ${source}: ${error.code ?? error.message}`);
    });
    try {
      for (;;) {
        const chunk = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        add(chunk.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }
  const value = Buffer.concat(chunks);
  for (const part of chunks) part.fill(0);
  return value;
}

/** Calls `use` with the value as base64, then wipes what it can (the base64 string itself is immutable). */
export async function withSecretInput<T>(source: string, limit: number, use: (base64: string) => Promise<T>): Promise<T> {
  const value = await readSecretInput(source, limit);
  try {
    return await use(value.toString('base64'));
  } finally {
    value.fill(0);
  }
}
