import { SpecError } from './errors.js';
import { arrayAt, booleanAt, objectAt, optionalBigInteger, optionalInteger, optionalObject, optionalString, type Json } from './json-fields.js';
import type { DeviceRule, Resources } from './spec.js';

/** linux.resources: the memory, cpu, pids and device-access limits berth-runtime applies through cgroups. */
export function readResources(resources: Record<string, Json>): Resources {
  const memory = optionalObject(resources['memory'], 'linux.resources.memory') ?? {};
  const cpu = optionalObject(resources['cpu'], 'linux.resources.cpu') ?? {};
  const pids = optionalObject(resources['pids'], 'linux.resources.pids') ?? {};
  const result: Record<string, unknown> = {
    memoryLimitBytes: limit(memory['limit'], 'linux.resources.memory.limit'),
    memorySwapBytes: limit(memory['swap'], 'linux.resources.memory.swap'),
    memoryReservationBytes: limit(memory['reservation'], 'linux.resources.memory.reservation'),
    cpuShares: optionalBigInteger(cpu['shares'], 'linux.resources.cpu.shares'),
    cpuQuotaMicros: optionalBigInteger(cpu['quota'], 'linux.resources.cpu.quota', { signed: true }),
    cpuPeriodMicros: optionalBigInteger(cpu['period'], 'linux.resources.cpu.period'),
    cpusetCpus: optionalString(cpu['cpus'], 'linux.resources.cpu.cpus'),
    cpusetMems: optionalString(cpu['mems'], 'linux.resources.cpu.mems'),
    pidsLimit: limit(pids['limit'], 'linux.resources.pids.limit') || undefined, // 0 is "no limit" to runc too
    devices: arrayAt(resources['devices'], 'linux.resources.devices').map((item, index) => readRule(item, `linux.resources.devices[${index}]`)),
  };
  for (const key of Object.keys(result)) if (result[key] === undefined || result[key] === '') delete result[key];
  return result as unknown as Resources;
}

/** A byte or count limit; -1 (or 0 for pids, as runc reads it) means unlimited and is dropped. */
function limit(value: Json, field: string): bigint | undefined {
  const amount = optionalBigInteger(value, field, { signed: true });
  if (amount === undefined || amount === -1n) return undefined;
  if (amount < 0n) throw new SpecError(field, 'must be -1 (unlimited) or a non-negative integer');
  return amount;
}

function readRule(value: Json, field: string): DeviceRule {
  const rule = objectAt(value, field);
  const type = optionalString(rule['type'], `${field}.type`) ?? 'a';
  if (type !== 'a' && type !== 'c' && type !== 'b') throw new SpecError(`${field}.type`, `must be a, c or b, not ${JSON.stringify(type)}`);
  const access = optionalString(rule['access'], `${field}.access`) ?? 'rwm';
  if (!/^[rwm]{1,3}$/.test(access)) throw new SpecError(`${field}.access`, `must be letters of rwm, not ${JSON.stringify(access)}`);
  return {
    allow: booleanAt(rule['allow'], `${field}.allow`, false),
    type,
    major: optionalInteger(rule['major'], `${field}.major`, 0xfff) ?? null,
    minor: optionalInteger(rule['minor'], `${field}.minor`, 0xfffff) ?? null,
    access,
  };
}
