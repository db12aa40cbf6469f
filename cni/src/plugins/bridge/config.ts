import type { CniRequest } from '../../skel/plugin.js';
import {
  expectObject, fieldPath, optionalArray, optionalBoolean, optionalUint, type JsonObject,
} from '../../spec/fields.js';
import { hasIpam, invalidConfig, linkNameField, macField } from '../common/config.js';

/** The reference bridge's default bridge name. */
export const defaultBridgeName = 'cni0';
/** Bounds that keep a hostile configuration cheap: VLAN IDs are 1-4094, and a trunk lists at most this many ranges. */
export const vlanIdMax = 4094;
export const vlanTrunkRangesMax = 64;
export const mtuMin = 68;
export const mtuMax = 65535;

export interface VlanRange { readonly min: number; readonly max: number }

/** The bridge plugin's own keys (those of the reference bridge that make sense without iptables). */
export interface BridgeConfig {
  readonly bridge: string;
  readonly isGateway: boolean;
  readonly isDefaultGateway: boolean;
  readonly forceAddress: boolean;
  readonly ipMasq: boolean;
  /** Undefined: the kernel's default (1500), as the reference. */
  readonly mtu: number | undefined;
  readonly hairpinMode: boolean;
  readonly promiscMode: boolean;
  readonly vlan: number;
  readonly vlanTrunk: readonly VlanRange[];
  readonly preserveDefaultVlan: boolean;
  readonly macspoofchk: boolean;
  readonly enableDad: boolean;
  readonly disableContainerInterface: boolean;
  readonly portIsolation: boolean;
  /** From `runtimeConfig.mac` (the `mac` capability) or CNI_ARGS MAC. */
  readonly mac: string | undefined;
  readonly hasIpam: boolean;
}

const invalid = invalidConfig;

function vlanId(object: JsonObject, key: string, path: string): number | undefined {
  const value = optionalUint(object, key, path, vlanIdMax);
  if (value === 0 && key !== 'vlan') throw invalid(`"${fieldPath(path, key)}" must be 1-${vlanIdMax}`);
  return value;
}

/** vlanTrunk: `[{"id": 10}, {"minID": 100, "maxID": 110}]`, as the reference. */
function parseTrunk(raw: JsonObject): VlanRange[] {
  const list = optionalArray(raw, 'vlanTrunk', '') ?? [];
  if (list.length > vlanTrunkRangesMax) throw invalid(`"vlanTrunk" lists ${list.length} entries, more than ${vlanTrunkRangesMax}`);
  return list.map((item, index) => {
    const path = fieldPath('vlanTrunk', index);
    const entry = expectObject(item, path);
    const id = vlanId(entry, 'id', path);
    const min = vlanId(entry, 'minID', path);
    const max = vlanId(entry, 'maxID', path);
    if (id !== undefined && min === undefined && max === undefined) return { min: id, max: id };
    if (id === undefined && min !== undefined && max !== undefined && min <= max) return { min, max };
    throw invalid(`"${path}" must be {"id": N} or {"minID": N, "maxID": M} with N <= M`);
  });
}

function macOf(request: CniRequest): string | undefined {
  const text = request.config.runtimeConfig.mac ?? request.args.get('MAC');
  if (text === undefined || text === '') return undefined;
  macField(text, 'MAC address (runtimeConfig.mac or CNI_ARGS MAC)');
  return text.toLowerCase();
}

/** Reads and checks the bridge keys of a request (code 7 naming the field). Pure. */
export function parseBridgeConfig(request: CniRequest): BridgeConfig {
  const raw = request.config.raw;
  const bridge = linkNameField(request, 'bridge') ?? defaultBridgeName;
  const flag = (key: string, fallback = false): boolean => optionalBoolean(raw, key, '') ?? fallback;
  const mtu = optionalUint(raw, 'mtu', '', mtuMax);
  if (mtu !== undefined && mtu !== 0 && mtu < mtuMin) throw invalid(`"mtu" ${mtu} is below the minimum of ${mtuMin}`);
  const isDefaultGateway = flag('isDefaultGateway');
  const config: BridgeConfig = {
    bridge,
    isDefaultGateway,
    isGateway: flag('isGateway') || isDefaultGateway,
    forceAddress: flag('forceAddress'),
    ipMasq: flag('ipMasq'),
    mtu: mtu === 0 ? undefined : mtu,
    hairpinMode: flag('hairpinMode'),
    promiscMode: flag('promiscMode'),
    vlan: vlanId(raw, 'vlan', '') ?? 0,
    vlanTrunk: parseTrunk(raw),
    preserveDefaultVlan: flag('preserveDefaultVlan', true),
    macspoofchk: flag('macspoofchk'),
    enableDad: flag('enabledad'),
    disableContainerInterface: flag('disableContainerInterface'),
    portIsolation: flag('portIsolation'),
    mac: macOf(request),
    hasIpam: hasIpam(request),
  };
  if (config.hairpinMode && config.promiscMode) throw invalid('"hairpinMode" and "promiscMode" cannot both be true');
  if (config.disableContainerInterface && config.hasIpam) {
    throw invalid('"disableContainerInterface" leaves the interface down, so it cannot carry the addresses "ipam" would assign');
  }
  if (config.vlan !== 0 && config.vlanTrunk.length > 0) throw invalid('"vlan" and "vlanTrunk" cannot both be set');
  return config;
}
