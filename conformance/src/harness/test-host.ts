import { randomBytes } from 'node:crypto';
import { execChecked, execCommand, type ExecOptions, type ExecResult } from './exec.js';

/** The part of a tap test the harness needs: somewhere to register cleanup that runs even on failure. */
export interface TeardownRegistry {
  teardown(fn: () => unknown): void;
}

// A random start per process, then a counter: names never repeat within a process (a test's names are distinct
// by construction), and processes running side by side start at random points of the 2^24 space.
let nextSuffix = randomBytes(3).readUIntBE(0, 3);

/** A short unique name: `bt-<prefix>-<hex>`; prefixes are trimmed so the result also fits an interface name (15). */
export function uniqueName(prefix: string, length = 15): string {
  const suffix = nextSuffix.toString(16).padStart(6, '0');
  nextSuffix = (nextSuffix + 1) % 0x1000000;
  const head = `bt-${prefix}`.slice(0, Math.max(3, length - suffix.length - 1));
  return `${head}-${suffix}`;
}

/** A network namespace made by a test, pinned at /run/netns/NAME, with loopback up. */
export class TestNetns {
  readonly name: string;
  readonly path: string;

  constructor(name: string) {
    this.name = name;
    this.path = `/run/netns/${name}`;
  }

  /**
   * Runs a command with this namespace as its network namespace. nsenter rather than `ip netns exec`, which
   * remounts /sys and hides the cgroup mounts that runc and podman need.
   */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return execCommand(['nsenter', `--net=${this.path}`, '--', ...argv], options);
  }

  execChecked(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    return execChecked(['nsenter', `--net=${this.path}`, '--', ...argv], options);
  }

  async remove(): Promise<void> {
    const result = await execCommand(['ip', 'netns', 'del', this.name]);
    if (result.code !== 0 && !/No such file/.test(result.stderr)) {
      throw new Error(`Cannot remove netns ${this.name}: ${result.stderr.trim()}`);
    }
  }
}

/** Creates a pinned namespace with loopback up; removes it again if bringing loopback up fails. */
export async function createTestNetns(name: string): Promise<TestNetns> {
  await execChecked(['ip', 'netns', 'add', name]);
  const netns = new TestNetns(name);
  try {
    await netns.execChecked(['ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await netns.remove();
    throw error;
  }
  return netns;
}

/**
 * A namespace acting as a host, plus the "container" namespaces created through it. `TestHost.create(t, …)`
 * registers `destroy()` as the test's teardown, so everything it made goes away, pass or fail.
 */
export class TestHost extends TestNetns {
  readonly #owned: TestNetns[] = [];

  static async create(registry: TeardownRegistry, prefix: string): Promise<TestHost> {
    const netns = await createTestNetns(uniqueName(prefix, 32));
    const host = new TestHost(netns.name);
    registry.teardown(() => host.destroy());
    return host;
  }

  /** A new namespace standing for a container (or a peer host), not yet connected to anything. */
  async addNetns(label: string): Promise<TestNetns> {
    const netns = await createTestNetns(uniqueName(label, 32));
    this.#owned.push(netns);
    return netns;
  }

  /** Removes every namespace it made, then its own; keeps going past individual failures. */
  async destroy(): Promise<void> {
    const failures: string[] = [];
    for (const netns of this.#owned.splice(0).reverse()) {
      await netns.remove().catch((error: unknown) => failures.push(String(error)));
    }
    await this.remove().catch((error: unknown) => failures.push(String(error)));
    if (failures.length > 0) throw new Error(`TestHost ${this.name} teardown: ${failures.join('; ')}`);
  }
}
