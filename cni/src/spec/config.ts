import { CniCode, CniError } from '../errors.js';
import type { CniCommand } from './env.js';
import {
  expectObject, fieldPath, fieldValue, invalidField, isJsonObject, optionalArray, optionalBoolean, optionalObject, optionalString,
  optionalStringArray, requiredString, type JsonObject,
} from './fields.js';
import { pluginTypeProblem, validateNetworkName } from './names.js';
import { parseDns, parseResult, type Dns, type Result } from './result.js';
import { parseRuntimeConfig, type RuntimeConfig } from './runtime-config.js';
import {
  IMPLICIT_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, parseVersion, versionAtLeast, type CniVersion,
} from './version.js';

/** Stdin larger than this is refused (code 6) before it is parsed: a configuration is a few KiB. */
export const configBytesMax = 1024 * 1024;

/** The oldest configuration version that allows each command (spec: CHECK from 0.4.0, STATUS and GC from 1.1.0). */
export const minimumVersionFor: Readonly<Record<CniCommand, CniVersion | undefined>> = {
  ADD: undefined, DEL: undefined, VERSION: undefined, CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0',
};

/** Keys the protocol itself defines or reserves in a request configuration (spec §1 and §3). */
export const PROTOCOL_CONFIG_KEYS = [
  'cniVersion', 'cniVersions', 'name', 'type', 'capabilities', 'ipam', 'dns', 'ipMasq', 'runtimeConfig', 'args', 'prevResult',
] as const;

/** One still-valid attachment listed by a GC request. */
export interface GcAttachment {
  readonly containerID: string;
  readonly ifname: string;
}

export interface IpamSection {
  readonly type: string;
  /** The whole `ipam` object (plugin-specific keys included). */
  readonly raw: JsonObject;
}

/** The `args` object's conventional `cni` keys (CONVENTIONS.md); everything else stays in `raw.args`. */
export interface ConfigArgs {
  readonly ips?: readonly string[];
}

/** A plugin's request configuration (stdin), typed where the protocol defines it. */
export interface PluginConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly ipam?: IpamSection;
  readonly dns?: Dns;
  readonly runtimeConfig: RuntimeConfig;
  readonly args: ConfigArgs;
  /** The previous plugin's result, upgraded to the canonical (1.1) form. */
  readonly prevResult?: Result;
  /** `cni.dev/valid-attachments`, only for GC (which refuses a config without it). */
  readonly validAttachments?: readonly GcAttachment[];
  /** The decoded object as received: plugin-specific fields, and what delegation passes on. */
  readonly raw: JsonObject;
}

export interface ParseConfigOptions {
  readonly command: CniCommand;
  /** The versions the plugin accepts; defaults to all Berth supports. */
  readonly supportedVersions?: readonly CniVersion[];
}

/** Decodes stdin: size cap and JSON syntax are code 6; a JSON value that is not an object is code 6 as well. */
export function decodeConfigText(text: string): JsonObject {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > configBytesMax) {
    throw new CniError(CniCode.DecodeFailure, `Cannot decode network config: ${bytes} bytes exceeds the limit of ${configBytesMax}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CniError(CniCode.DecodeFailure, `Cannot decode network config: ${(error as Error).message}`);
  }
  if (!isJsonObject(value)) throw new CniError(CniCode.DecodeFailure, 'Cannot decode network config: it is not a JSON object');
  return value;
}

/**
 * The version a configuration declares, checked against what the plugin supports and what the command needs
 * (code 1). A missing `cniVersion` means 0.1.0, which Berth does not support.
 */
export function checkConfigVersion(object: JsonObject, options: ParseConfigOptions): CniVersion {
  const declared = optionalString(object, 'cniVersion', '') ?? IMPLICIT_VERSION;
  const supported = options.supportedVersions ?? SUPPORTED_VERSIONS;
  const minimum = minimumVersionFor[options.command];
  if (minimum !== undefined && parseVersion(declared) !== undefined && !versionAtLeast(declared, minimum)) {
    throw new CniError(CniCode.IncompatibleVersion, `Incompatible CNI version: config version ${declared} does not allow ${options.command} (needs ${minimum} or newer)`);
  }
  if (!isSupportedVersion(declared) || !supported.includes(declared)) {
    throw new CniError(CniCode.IncompatibleVersion, `Incompatible CNI version: config is "${declared}", plugin supports ${supported.join(', ')}`);
  }
  return declared;
}

function parseIpam(object: JsonObject): IpamSection | undefined {
  const ipam = optionalObject(object, 'ipam', '');
  if (ipam === undefined) return undefined;
  const type = optionalString(ipam, 'type', 'ipam') ?? '';
  const problem = type === '' ? undefined : pluginTypeProblem(type);
  if (problem !== undefined) throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "ipam.type" "${type}": ${problem}`);
  return { type, raw: ipam };
}

function parseArgs(object: JsonObject): ConfigArgs {
  const args = optionalObject(object, 'args', '');
  const cni = args === undefined ? undefined : optionalObject(args, 'cni', 'args');
  const ips = cni === undefined ? undefined : optionalStringArray(cni, 'ips', 'args.cni');
  return ips === undefined ? {} : { ips };
}

function parseValidAttachments(object: JsonObject): readonly GcAttachment[] | undefined {
  const key = 'cni.dev/valid-attachments';
  const list = optionalArray(object, key, '');
  return list?.map((item, index) => {
    const path = fieldPath(key, index);
    const entry = expectObject(item, path);
    return { containerID: requiredString(entry, 'containerID', path), ifname: requiredString(entry, 'ifname', path) };
  });
}

/** Parses a request configuration for `command`: version (1), JSON (6), field types and values (7). */
export function parsePluginConfig(text: string, options: ParseConfigOptions): PluginConfig {
  const raw = decodeConfigText(text);
  const cniVersion = checkConfigVersion(raw, options);
  const name = requiredString(raw, 'name', '');
  validateNetworkName(name);
  const type = requiredString(raw, 'type', '');
  const typeProblem = pluginTypeProblem(type);
  if (typeProblem !== undefined) throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "type" "${type}": ${typeProblem}`);
  const capabilities = optionalObject(raw, 'capabilities', '');
  if (capabilities !== undefined) {
    for (const key of Object.keys(capabilities)) optionalBoolean(capabilities, key, 'capabilities');
  }
  const prevResultValue = fieldValue(raw, 'prevResult');
  if (prevResultValue !== undefined && prevResultValue !== null && !isJsonObject(prevResultValue)) {
    throw invalidField('prevResult', 'an object', prevResultValue);
  }
  const config: {
    -readonly [K in keyof PluginConfig]: PluginConfig[K]
  } = {
    cniVersion, name, type, runtimeConfig: parseRuntimeConfig(fieldValue(raw, 'runtimeConfig')), args: parseArgs(raw), raw,
  };
  const ipam = parseIpam(raw);
  if (ipam !== undefined) config.ipam = ipam;
  const dns = parseDns(fieldValue(raw, 'dns'), 'dns');
  if (dns !== undefined) config.dns = dns;
  if (isJsonObject(prevResultValue)) config.prevResult = parseResult(prevResultValue, 'prevResult');
  const validAttachments = parseValidAttachments(raw);
  if (validAttachments !== undefined) config.validAttachments = validAttachments;
  else if (options.command === 'GC') {
    // Without the list every attachment would look stale: refuse (every plugin alike) rather than collect everything.
    throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: "cni.dev/valid-attachments" is required for GC; nothing was collected');
  }
  return config;
}
