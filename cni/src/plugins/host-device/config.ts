import { CniCode, CniError } from '../../errors.js';
import { parseMac } from '../../net/mac.js';
import type { CniRequest } from '../../skel/plugin.js';
import { optionalString } from '../../spec/fields.js';
import { interfaceNameProblem } from '../../spec/names.js';
import { stateDirDefault } from './state.js';

export interface HostDeviceConfig {
  /** The host link by name, or by MAC (`hwaddr`); exactly one is set. */
  readonly device: string | undefined;
  readonly hwaddr: string | undefined;
  readonly stateDir: string;
  readonly hasIpam: boolean;
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

/** Reads `device` or `hwaddr` (the reference's `kernelpath` and `pciBusID` need sysfs device lookups Berth lacks). */
export function parseHostDeviceConfig(request: CniRequest): HostDeviceConfig {
  const raw = request.config.raw;
  for (const key of ['kernelpath', 'pciBusID']) {
    if ((optionalString(raw, key, '') ?? '') !== '') {
      throw new CniError(CniCode.UnsupportedField, `Unsupported field "${key}": berth-host-device selects a device by "device" or "hwaddr"`);
    }
  }
  const device = optionalString(raw, 'device', '') || undefined;
  const hwaddr = optionalString(raw, 'hwaddr', '') || undefined;
  if ((device === undefined) === (hwaddr === undefined)) throw invalid('exactly one of "device" and "hwaddr" is required');
  if (device !== undefined) {
    const problem = interfaceNameProblem(device);
    if (problem !== undefined) throw invalid(`"device" "${device.slice(0, 40)}": ${problem}`);
    if (device === 'lo') throw invalid('"device" cannot be the loopback interface');
  }
  if (hwaddr !== undefined) {
    try {
      parseMac(hwaddr);
    } catch {
      throw invalid(`"hwaddr" "${hwaddr.slice(0, 40)}" is not a MAC address`);
    }
  }
  return {
    device,
    hwaddr: hwaddr?.toLowerCase(),
    stateDir: optionalString(raw, 'stateDir', '') || stateDirDefault,
    hasIpam: (request.config.ipam?.type ?? '') !== '',
  };
}
