import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { CniCode, CniError } from '../errors.js';
import { configBytesMax } from '../spec/config.js';
import { encodeError, formatJson } from '../spec/output.js';
import { CURRENT_VERSION } from '../spec/version.js';
import type { CniPlugin } from './plugin.js';
import { runPlugin, type PluginIo } from './run.js';
import { decodeStdin } from './stdin.js';

const stdinChunkBytes = 64 * 1024;

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

async function readStreamCapped(limitBytes: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(buffer);
    total += buffer.length;
    if (total > limitBytes) break;
  }
  return chunks;
}

function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

/**
 * Reads fd 0 to its end, at most `configBytesMax` + 1 bytes (then code 6). Synchronous reads avoid setting up a
 * stream (measurably faster at startup); a non-blocking pipe (EAGAIN) falls back to the stream. A character device
 * (a terminal, /dev/null) gives "": a person running the plugin by hand gets an answer instead of a hang.
 */
export async function readStdinCapped(limitBytes = configBytesMax): Promise<string> {
  if (isCharacterDevice(0)) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(stdinChunkBytes);
      const count = readSync(0, buffer, 0, buffer.length, null);
      if (count === 0) break;
      chunks.push(buffer.subarray(0, count));
      total += count;
      if (total > limitBytes) break;
    }
  } catch (error) {
    if (isErrno(error, 'EAGAIN')) chunks.push(...await readStreamCapped(limitBytes - total));
    else if (!isErrno(error, 'EBADF') && !isErrno(error, 'EOF')) {
      throw new CniError(CniCode.IoFailure, `Cannot read network config from stdin: ${(error as Error).message}`);
    }
  }
  return decodeStdin(Buffer.concat(chunks), limitBytes);
}

/** Writes all of `text` to a file descriptor, synchronously; EAGAIN (a non-blocking pipe) is retried a bounded number of times. */
export function writeAllSync(fd: number, text: string): void {
  const data = Buffer.from(text, 'utf8');
  const retriesMax = 10_000;
  let offset = 0;
  for (let retries = 0; offset < data.length;) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      if (!isErrno(error, 'EAGAIN') || retries >= retriesMax) throw error;
      retries += 1;
    }
  }
}

/** The process's side of `PluginIo`. */
export function processIo(): PluginIo {
  return {
    env: process.env,
    readStdin: () => readStdinCapped(),
    writeStdout: (text) => writeAllSync(1, text),
    writeStderr: (text) => {
      try { writeAllSync(2, text); } catch { /* stderr is informational; a closed stderr must not fail the call */ }
    },
  };
}

/**
 * The entry point of a plugin executable: runs the invocation and exits with its code. An exception that escapes
 * the plugin's promise chain (a throwing timer or event handler) still ends as a code 999 JSON error, not a stack
 * dump where the runtime expects a result.
 */
export function main(plugin: CniPlugin): void {
  const escaped = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    try { writeAllSync(2, `${error instanceof Error ? error.stack ?? message : message}\n`); } catch { /* informational */ }
    try {
      writeAllSync(1, formatJson(encodeError(new CniError(CniCode.Internal, `${plugin.name} failed unexpectedly: ${message}`), CURRENT_VERSION)));
    } catch { /* stdout is gone: the exit code still tells */ }
    process.exit(1);
  };
  process.on('uncaughtException', escaped);
  process.on('unhandledRejection', escaped);
  void runPlugin(plugin, processIo()).then(
    (code) => process.exit(code),
    (error: unknown) => {
      // runPlugin reports its own failures; reaching here means writing stdout itself failed.
      try { writeAllSync(2, `${plugin.name}: ${String(error)}\n`); } catch { /* nothing left to report to */ }
      try { closeSync(1); } catch { /* already closed */ }
      process.exit(1);
    },
  );
}
