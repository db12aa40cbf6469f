import type { MacvlanMode } from '../../net/link-model.js';
import { formatMac } from '../../net/mac.js';
import type { CniRequest } from '../../skel/plugin.js';
import { optionalBoolean, optionalString, optionalUint } from '../../spec/fields.js';
import { hasIpam, invalidConfig, linkNameField, macField } from '../common/config.js';

/** The modes berth-macvlan accepts (the reference's four; "source" needs a MAC list the config cannot give). */
export const macvlanModes: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];

/** berth-macvlan's own keys: those of the reference macvlan plugin. */
export interface MacvlanConfig {
  /** The parent link; undefined: the interface of the default route (in the netns the master lives in). */
  readonly master: string | undefined;
  readonly mode: MacvlanMode;
  /** 0 or undefined: the kernel's default (the master's MTU). */
  readonly mtu: number | undefined;
  /** Config `mac`, overridden by CNI_ARGS `MAC`, overridden by `runtimeConfig.mac` (the reference's order). */
  readonly mac: string | undefined;
  /** The master is a link inside the container's netns rather than the host's. */
  readonly linkInContainer: boolean;
  readonly hasIpam: boolean;
}

const invalid = invalidConfig;

function parseMode(value: string | undefined): MacvlanMode {
  if (value === undefined || value === '') return 'bridge';
  const mode = macvlanModes.find((candidate) => candidate === value);
  if (mode === undefined) throw invalid(`"mode" "${value}" is not one of ${macvlanModes.join(', ')}`);
  return mode;
}

/** A unicast MAC in canonical form; the source names where it came from in the error. */
function checkMac(value: string, source: string): string {
  const bytes = macField(value, source);
  if (((bytes[0] ?? 0) & 1) === 1) throw invalid(`${source} "${value}" is a multicast MAC address`);
  return formatMac(bytes);
}

function pickMac(request: CniRequest, configured: string | undefined): string | undefined {
  const runtime = request.config.runtimeConfig.mac;
  if (runtime !== undefined && runtime !== '') return checkMac(runtime, '"runtimeConfig.mac"');
  const fromArgs = request.args.get('MAC');
  if (fromArgs !== undefined && fromArgs !== '') return checkMac(fromArgs, 'CNI_ARGS MAC');
  return configured === undefined || configured === '' ? undefined : checkMac(configured, '"mac"');
}

/** Parses berth-macvlan's keys from the request configuration (code 7 naming the field when one is wrong). */
export function parseMacvlanConfig(request: CniRequest): MacvlanConfig {
  const raw = request.config.raw;
  const master = linkNameField(request, 'master');
  const mtu = optionalUint(raw, 'mtu', '', 65535);
  return {
    master,
    mode: parseMode(optionalString(raw, 'mode', '')),
    mtu: mtu === 0 ? undefined : mtu,
    mac: pickMac(request, optionalString(raw, 'mac', '')),
    linkInContainer: optionalBoolean(raw, 'linkInContainer', '') ?? false,
    hasIpam: hasIpam(request),
  };
}
