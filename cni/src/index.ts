export { createLogger, sharedLogger, type Logger } from './log/logger.js';
export { CniError, CniCode, type CniCodeValue } from './errors.js';
export * from './net/index.js';
export * from './nat/index.js';
// CNI protocol core (spec), plugin skeleton (skel), delegation and engine-style execution (invoke), berth-ipam.
export {
  SUPPORTED_VERSIONS, CURRENT_VERSION, type CniVersion, isSupportedVersion, parseVersion, compareVersions, versionAtLeast,
} from './spec/version.js';
export {
  CNI_COMMANDS, type CniCommand, type CniEnvironment, type CniParameters, isCniCommand, readCommand, readCniParameters,
  parseCniArgs,
} from './spec/env.js';
export {
  validateContainerId, validateInterfaceName, interfaceNameProblem, validateNetworkName, pluginTypeProblem,
  containerIdLengthMax, interfaceNameBytesMax, isDnsLabel, isDnsSubdomain,
} from './spec/names.js';
export {
  type JsonObject, isJsonObject, fieldPath, fieldValue, invalidField, expectObject, optionalObject, optionalString, requiredString,
  optionalBoolean, optionalUint, optionalArray, optionalStringArray, rejectUnknownFields,
} from './spec/fields.js';
export {
  configBytesMax, minimumVersionFor, PROTOCOL_CONFIG_KEYS, decodeConfigText, checkConfigVersion, parsePluginConfig,
  type PluginConfig, type IpamSection, type ConfigArgs, type GcAttachment, type ParseConfigOptions,
} from './spec/config.js';
export {
  parseResult, encodeResult, parseRoute, parseDns, isEmptyDns,
  type Result, type ResultInterface, type ResultIp, type ResultRoute, type Dns,
} from './spec/result.js';
export {
  parseRuntimeConfig, parseRangeSpec, parseRangeSets,
  type RuntimeConfig, type PortMapping, type RangeSpec, type RuntimeDns,
} from './spec/runtime-config.js';
export { encodeVersionInfo, encodeError, declaredVersion, formatJson } from './spec/output.js';
export { tryParseCidr } from './spec/ip.js';
export type { CniPlugin, CniRequest, PluginCommand } from './skel/plugin.js';
export { buildRequest } from './skel/request.js';
export { runPlugin, type PluginIo } from './skel/run.js';
export { main, processIo, readStdinCapped, writeAllSync } from './skel/main.js';
export { findPlugin } from './invoke/find.js';
export {
  execPlugin, pluginTimeoutMsDefault, pluginStdoutBytesMax, type ExecPluginOptions, type ExecPluginOutput,
} from './invoke/exec.js';
export {
  delegateAdd, delegateDel, delegateCheck, delegateStatus, delegateGc, decodeDelegatedResult, type DelegateOptions,
} from './invoke/delegate.js';
export {
  ipamAdd, ipamDel, ipamCheck, ipamStatus, ipamGc, ipamType, isInProcessIpam, inProcessIpam,
} from './invoke/ipam.js';
export {
  execConflist, parseConflist, deriveRequestConfig,
  type Conflist, type AttachmentParameters, type ConflistRunOptions, type ConflistCommand, type ConflistRequest,
  type ConflistOutcome,
} from './invoke/conflist.js';
export { createBerthIpam, BERTH_IPAM_TYPE, type BerthIpamOptions } from './plugins/ipam/plugin.js';
export { IpamCode } from './ipam/allocator.js';
export { DEFAULT_DATA_DIR as IPAM_DEFAULT_DATA_DIR, defaultDataDir as ipamDefaultDataDir } from './ipam/config.js';
export { createBerthBridge, BERTH_BRIDGE_TYPE, type BerthBridgeOptions } from './plugins/bridge/plugin.js';
export { createBerthNone, BERTH_NONE_TYPE } from './plugins/none/plugin.js';
export { createBerthHostDevice, BERTH_HOST_DEVICE_TYPE } from './plugins/host-device/plugin.js';
export { createBerthPortmap, BERTH_PORTMAP_TYPE } from './plugins/portmap/plugin.js';
// berth-macvlan, berth-vxlan and the overlay (peer sources, FDB/neighbour/route programming, the agent's controller).
export { createBerthMacvlan, BERTH_MACVLAN_TYPE, type BerthMacvlanOptions } from './plugins/macvlan/plugin.js';
export { macvlanModes, type MacvlanConfig } from './plugins/macvlan/config.js';
export { createBerthVxlan } from './plugins/vxlan/plugin.js';
export { BERTH_VXLAN_TYPE, type BerthVxlanOptions } from './plugins/vxlan/context.js';
export { parseVxlanConfig, type VxlanConfig } from './plugins/vxlan/config.js';
export * from './overlay/index.js';
export * from './agent/index.js';
