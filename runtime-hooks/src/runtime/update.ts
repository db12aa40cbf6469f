import { readFileSync } from 'node:fs';
import { applyResources } from './cgroups.js';
import { RuntimeError, SpecError } from './errors.js';
import { objectAt } from './json-fields.js';
import type { StateStore } from './state.js';
import { readResources } from './validate-resources.js';

/** runc update's flags (those berth-runtime applies). Sizes take k/m/g suffixes, as runc's. */
export interface UpdateFlags {
  readonly resources?: string;
  readonly memory?: string;
  readonly memorySwap?: string;
  readonly memoryReservation?: string;
  readonly pidsLimit?: string;
  readonly cpuQuota?: string;
  readonly cpuPeriod?: string;
  readonly cpuShare?: string;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
}

const units: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function size(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(-?\d+)([bkmgt]?)b?$/i.exec(text.trim());
  if (match === null) throw new RuntimeError(`--${flag}: invalid size ${JSON.stringify(text)}`);
  return Number(match[1]) * (units[(match[2] ?? '').toLowerCase()] ?? 1);
}

function resourcesFrom(flags: UpdateFlags): Record<string, unknown> {
  if (flags.resources !== undefined) {
    const text = readFileSync(flags.resources === '-' ? 0 : flags.resources, 'utf8');
    try {
      return objectAt(JSON.parse(text), 'resources');
    } catch (error) {
      if (error instanceof SpecError) throw error;
      throw new SpecError('resources', `invalid JSON: ${(error as Error).message}`);
    }
  }
  return {
    memory: { limit: size(flags.memory, 'memory'), swap: size(flags.memorySwap, 'memory-swap'), reservation: size(flags.memoryReservation, 'memory-reservation') },
    cpu: { quota: size(flags.cpuQuota, 'cpu-quota'), period: size(flags.cpuPeriod, 'cpu-period'), shares: size(flags.cpuShare, 'cpu-share'), cpus: flags.cpusetCpus, mems: flags.cpusetMems },
    pids: { limit: size(flags.pidsLimit, 'pids-limit') },
  };
}

/** `update`: new limits for a live container's cgroups (a runtime-spec linux.resources object, or runc's flags). */
export function updateContainer(store: StateStore, id: string, flags: UpdateFlags): void {
  const record = store.load(id);
  const status = store.status(record);
  if (status === 'stopped' || status === 'creating') throw new RuntimeError('container not running');
  applyResources(record.cgroups, readResources(resourcesFrom(flags)), []);
}
