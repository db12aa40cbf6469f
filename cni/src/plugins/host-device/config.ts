import { CniCode, CniError } from '../../errors.js';
import type { CniRequest } from '../../skel/plugin.js';
import { optionalString } from '../../spec/fields.js';
import { hasIpam, invalidConfig, linkNameField, macField } from '../common/config.js';
import { stateDirDefault } from './state.js';

export interface HostDeviceConfig {
  /** The host link by name, or by MAC (`hwaddr`); exactly one is set. */
  readonly device: string | undefined;
  readonly hwaddr: string | undefined;
  readonly stateDir: string;
  readonly hasIpam: boolean;
}

const invalid = invalidConfig;

/** Reads `device` or `hwaddr` (the reference's `kernelpath` and `pciBusID` need sysfs device lookups Berth lacks). */
export function parseHostDeviceConfig(request: CniRequest): HostDeviceConfig {
  const raw = request.config.raw;
  for (const key of ['kernelpath', 'pciBusID']) {
    if ((optionalString(raw, key, '') ?? '') !== '') {
      throw new CniError(CniCode.UnsupportedField, `Unsupported field "${key}": berth-host-device selects a device by "device" or "hwaddr"`);
    }
  }
  const device = linkNameField(request, 'device');
  const hwaddr = optionalString(raw, 'hwaddr', '') || undefined;
  if ((device === undefined) === (hwaddr === undefined)) throw invalid('exactly one of "device" and "hwaddr" is required');
  if (device === 'lo') throw invalid('"device" cannot be the loopback interface');
  if (hwaddr !== undefined) macField(hwaddr, '"hwaddr"');
  return {
    device,
    hwaddr: hwaddr?.toLowerCase(),
    stateDir: optionalString(raw, 'stateDir', '') || stateDirDefault,
    hasIpam: hasIpam(request),
  };
}
