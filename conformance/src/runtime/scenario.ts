import { join } from 'node:path';
import { baseConfig, writeBundle, type BundleConfig } from './rootfs.js';
import type { RuntimeUnderTest } from './runtimes.js';

/** What one scenario gets for one runtime: a unique container id, its own directory, the shared rootfs. */
export class ScenarioContext {
  readonly runtime: RuntimeUnderTest;
  readonly dir: string;
  readonly rootfs: string;
  /** Every container id handed out, force-deleted after the scenario. */
  readonly ids: string[] = [];
  readonly #prefix: string;

  constructor(options: { runtime: RuntimeUnderTest; dir: string; rootfs: string; prefix: string }) {
    this.runtime = options.runtime;
    this.dir = options.dir;
    this.rootfs = options.rootfs;
    this.#prefix = options.prefix;
  }

  /** A fresh container id (bt-rt-…), recorded for cleanup. */
  newId(): string {
    const id = `${this.#prefix}-${this.ids.length}`;
    this.ids.push(id);
    return id;
  }

  config(args: readonly string[]): BundleConfig {
    return baseConfig(this.rootfs, args);
  }

  /** Writes a bundle (dir/<name>/config.json) and returns its directory. */
  bundle(config: unknown, name = 'bundle'): Promise<string> {
    return writeBundle(join(this.dir, name), config);
  }
}

export class ScenarioFailure extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new ScenarioFailure(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export interface Scenario {
  readonly name: string;
  run(context: ScenarioContext): Promise<void>;
}
