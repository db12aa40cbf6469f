import { CniCode, CniError } from '../../errors.js';
import { MacParseError, parseMac } from '../../net/mac.js';
import type { CniRequest } from '../../skel/plugin.js';
import { optionalString } from '../../spec/fields.js';
import { interfaceNameProblem } from '../../spec/names.js';

/** Config readers every interface plugin shares; each throws code 7 naming the field and (a prefix of) the value. */

export function invalidConfig(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

/** True when the config names an IPAM plugin (`ipam.type`), so the plugin delegates addressing to it. */
export function hasIpam(request: CniRequest): boolean {
  return (request.config.ipam?.type ?? '') !== '';
}

/** An optional top-level key naming a link (`bridge`, `master`, `device` …): undefined when absent or "". */
export function linkNameField(request: CniRequest, key: string): string | undefined {
  const name = optionalString(request.config.raw, key, '');
  if (name === undefined || name === '') return undefined;
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) throw invalidConfig(`"${key}" "${name.slice(0, 40)}": ${problem}`);
  return name;
}

/** The bytes of MAC address `value`; `source` says where it came from (`"hwaddr"`, `CNI_ARGS MAC` …) in the error. */
export function macField(value: string, source: string): Buffer {
  try {
    return parseMac(value);
  } catch (error) {
    if (error instanceof MacParseError) throw invalidConfig(`${source} "${value.slice(0, 40)}" is not a MAC address`);
    throw error;
  }
}
