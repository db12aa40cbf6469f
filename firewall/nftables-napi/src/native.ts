import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What one libnftables call returned: its return code and everything it wrote to its output and error streams. */
export interface NativeRunResult {
  readonly rc: number;
  readonly output: string;
  readonly error: string;
}

/**
 * The addon's surface (native/nftables.cc). The constructor and `run` throw an Error with `errno` and `syscall`
 * when the network namespace cannot be opened or entered; `run` throws "context is closed" after `close`.
 */
export interface NativeContext {
  run(buffer: string): NativeRunResult;
  close(): void;
}

export interface NativeBinding {
  Context: new (netnsPath: string | null) => NativeContext;
}

// Compiled code runs from dist/src/, tests run src/ directly: the addon is in build/Release of the package root.
const candidates = ['../build/Release/nftables.node', '../../build/Release/nftables.node']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
const addonPath = candidates.find((candidate) => existsSync(candidate));
if (addonPath === undefined) {
  throw new Error(`@berth/nftables-napi: native addon not built (looked for ${candidates.join(', ')}); run npm run build`);
}
export const native = createRequire(import.meta.url)(addonPath) as NativeBinding;
