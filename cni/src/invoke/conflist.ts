import { CniCode, CniError } from '../errors.js';
import type { CniEnvironment } from '../spec/env.js';
import {
  expectObject, fieldPath, optionalArray, optionalBoolean, optionalObject, optionalStringArray,
  requiredString, type JsonObject,
} from '../spec/fields.js';
import { pluginTypeProblem, validateNetworkName } from '../spec/names.js';
import { parseResult, type Result } from '../spec/result.js';
import { SUPPORTED_VERSIONS, compareVersions, isSupportedVersion, type CniVersion } from '../spec/version.js';
import type { GcAttachment } from '../spec/config.js';
import { execPlugin } from './exec.js';
import { runPluginInProcess } from './in-process.js';
import type { CniPlugin } from '../skel/plugin.js';
import { findPlugin } from './find.js';

/** A network configuration list (spec §1), with the version an engine selects for it. */
export interface Conflist {
  readonly name: string;
  /** The highest version among `cniVersion` and `cniVersions` that Berth supports. */
  readonly cniVersion: CniVersion;
  readonly disableCheck: boolean;
  readonly disableGC: boolean;
  readonly plugins: readonly JsonObject[];
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network configuration list: ${message}`);
}

/** Parses a conflist (text or decoded) and selects its version as the spec's "Version considerations" say. */
export function parseConflist(input: string | JsonObject): Conflist {
  let value: unknown = input;
  if (typeof input === 'string') {
    try { value = JSON.parse(input); } catch (error) { throw new CniError(CniCode.DecodeFailure, `Cannot decode network configuration list: ${(error as Error).message}`); }
  }
  const object = expectObject(value, '');
  const name = requiredString(object, 'name', '');
  validateNetworkName(name);
  const declared = [...(optionalStringArray(object, 'cniVersions', '') ?? [])];
  if (typeof object['cniVersion'] === 'string') declared.push(object['cniVersion']);
  const usable = declared.filter(isSupportedVersion).sort(compareVersions);
  const cniVersion = usable.at(-1);
  if (cniVersion === undefined) {
    throw new CniError(CniCode.IncompatibleVersion, `Incompatible CNI version: network ${name} declares ${declared.join(', ') || 'no version'}, Berth supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const plugins = (optionalArray(object, 'plugins', '') ?? []).map((plugin, index) => {
    const path = fieldPath('plugins', index);
    const conf = expectObject(plugin, path);
    const type = requiredString(conf, 'type', path);
    const problem = pluginTypeProblem(type);
    if (problem !== undefined) throw invalid(`"${path}.type" "${type}": ${problem}`);
    return conf;
  });
  if (plugins.length === 0) throw invalid(`network ${name} lists no plugins`);
  const conflist: Conflist = {
    name, cniVersion, plugins,
    disableCheck: optionalBoolean(object, 'disableCheck', '') ?? false,
    disableGC: optionalBoolean(object, 'disableGC', '') ?? false,
  };
  parsedConflists.add(conflist);
  return conflist;
}

/** Conflists that went through parseConflist (a raw JSON object of the same shape has not had its version selected). */
const parsedConflists = new WeakSet<Conflist>();

/** One container's attachment to the network, as an engine knows it. */
export interface AttachmentParameters {
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS, "K=V;K2=V2". */
  readonly args?: string;
  /** Capability arguments by capability name (e.g. `portMappings`); each plugin gets those it declares. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

export interface ConflistRunOptions {
  /** The CNI_PATH directories. */
  readonly pluginDirs: readonly string[];
  /** The engine's own environment the plugins inherit (default: none besides CNI_*). */
  readonly baseEnv?: CniEnvironment;
  readonly timeoutMs?: number;
  readonly stderr?: 'inherit' | ((text: string) => void);
  /** Called (synchronously) just before each plugin of an ADD is exec'd (once found), with its index in the conflist:
   * a caller that records progress can later DEL exactly the plugins that may have done something. */
  readonly onAddStart?: (index: number) => void;
  /** Plugin types run in this process (the same plugin function as their executable) instead of exec'd. */
  readonly inProcess?: Readonly<Record<string, () => Promise<CniPlugin>>>;
}

export type ConflistCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';

export interface ConflistRequest {
  readonly command: ConflistCommand;
  /** For ADD, DEL and CHECK. */
  readonly attachment?: AttachmentParameters;
  /** The final ADD result as printed (raw), for DEL and CHECK: engines cache it and pass it as prevResult. */
  readonly prevResult?: JsonObject;
  /** For GC: the attachments still valid. */
  readonly validAttachments?: readonly GcAttachment[];
}

export interface ConflistOutcome {
  /** ADD: the last plugin's result as printed (in the conflist's version). */
  readonly raw?: JsonObject;
  /** ADD: the same, in canonical form. */
  readonly result?: Result;
}

/** The request configuration of one plugin (spec §3 "Deriving request configuration"). */
export function deriveRequestConfig(conflist: Conflist, plugin: JsonObject, request: ConflistRequest, prevResult: JsonObject | undefined): JsonObject {
  const { capabilities: _capabilities, ...rest } = plugin;
  const derived: Record<string, unknown> = { ...rest, cniVersion: conflist.cniVersion, name: conflist.name };
  for (const key of Object.keys(derived)) if (key.startsWith('cni.dev/')) delete derived[key];
  if (request.command === 'GC') {
    derived['cni.dev/valid-attachments'] = (request.validAttachments ?? []).map((item) => ({ ...item }));
    return derived;
  }
  if (request.command === 'STATUS') return derived;
  const declared = optionalObject(plugin, 'capabilities', 'capabilities') ?? {};
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(declared)) {
    const value = request.attachment?.capabilityArgs?.[capability];
    if (enabled === true && value !== undefined) runtimeConfig[capability] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) derived['runtimeConfig'] = runtimeConfig;
  if (prevResult !== undefined) derived['prevResult'] = prevResult;
  return derived;
}

function attachmentEnv(request: ConflistRequest, options: ConflistRunOptions): CniEnvironment {
  const attachment = request.attachment;
  const env: Record<string, string | undefined> = { ...options.baseEnv, CNI_PATH: options.pluginDirs.join(':') };
  if (request.command === 'ADD' || request.command === 'DEL' || request.command === 'CHECK') {
    if (attachment === undefined) throw new TypeError(`execConflist ${request.command} needs an attachment`);
    Object.assign(env, {
      CNI_CONTAINERID: attachment.containerId, CNI_NETNS: attachment.netns, CNI_IFNAME: attachment.ifName,
      CNI_ARGS: attachment.args ?? '',
    });
  }
  return env;
}

async function runOne(conflist: Conflist, plugin: JsonObject, request: ConflistRequest, prevResult: JsonObject | undefined,
  options: ConflistRunOptions, beforeExec?: () => void): Promise<JsonObject | undefined> {
  const type = String(plugin['type']);
  const stdin = JSON.stringify(deriveRequestConfig(conflist, plugin, request, prevResult));
  const load = options.inProcess?.[type];
  if (load !== undefined) {
    const implementation = await load();
    beforeExec?.();
    return (await runPluginInProcess(implementation, { command: request.command, env: attachmentEnv(request, options), stdin, ...(options.stderr === undefined ? {} : { stderr: options.stderr }) })).output;
  }
  const pluginPath = findPlugin(type, options.pluginDirs);
  beforeExec?.();
  const { output } = await execPlugin({
    pluginPath, command: request.command, env: attachmentEnv(request, options), stdin,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.stderr === undefined ? {} : { stderr: options.stderr }),
  });
  return output;
}

/**
 * Runs a conflist exactly as an engine does (spec §3), one process per plugin call: ADD in order chaining each
 * result into the next plugin's prevResult; DEL in reverse order, CHECK in order, both with the cached ADD result;
 * the first error stops ADD/DEL/CHECK and is thrown (the engine must still DEL after a failed ADD: that is the
 * caller's job). GC runs every plugin and throws the first error (details list all); `disableCheck`/`disableGC`
 * make CHECK/GC succeed without running anything. STATUS stops at the first error.
 */
export async function execConflist(conflistInput: Conflist | string | JsonObject, request: ConflistRequest,
  options: ConflistRunOptions): Promise<ConflistOutcome> {
  const conflist = isConflist(conflistInput) ? conflistInput : parseConflist(conflistInput);
  switch (request.command) {
    case 'ADD': {
      let previous: JsonObject | undefined;
      for (const [index, plugin] of conflist.plugins.entries()) {
        previous = await runOne(conflist, plugin, request, previous, options, () => options.onAddStart?.(index));
      }
      if (previous === undefined) throw new CniError(CniCode.DecodeFailure, `The last plugin of network ${conflist.name} printed no result for ADD`);
      return { raw: previous, result: parseResult(previous, 'result') };
    }
    case 'DEL':
      for (const plugin of [...conflist.plugins].reverse()) await runOne(conflist, plugin, request, request.prevResult, options);
      return {};
    case 'CHECK':
      if (conflist.disableCheck) return {};
      if (request.prevResult === undefined) throw new TypeError('execConflist CHECK needs the cached ADD result (prevResult)');
      for (const plugin of conflist.plugins) await runOne(conflist, plugin, request, request.prevResult, options);
      return {};
    case 'STATUS':
      for (const plugin of conflist.plugins) await runOne(conflist, plugin, request, undefined, options);
      return {};
    case 'GC':
      return conflist.disableGC ? {} : gcAll(conflist, request, options);
  }
}

async function gcAll(conflist: Conflist, request: ConflistRequest, options: ConflistRunOptions): Promise<ConflistOutcome> {
  const errors: CniError[] = [];
  for (const plugin of conflist.plugins) {
    try {
      await runOne(conflist, plugin, request, undefined, options);
    } catch (error) {
      errors.push(error instanceof CniError ? error : new CniError(CniCode.Internal, String(error)));
    }
  }
  const [first] = errors;
  if (first !== undefined) {
    throw new CniError(first.code, first.message, errors.map((error) => `${error.code}: ${error.message}`).join('; '));
  }
  return {};
}

function isConflist(value: Conflist | string | JsonObject): value is Conflist {
  return typeof value === 'object' && parsedConflists.has(value as Conflist);
}
