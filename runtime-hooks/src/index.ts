// OCI hooks (issue 12): the hook's building blocks and the bundle `berth run` writes, for tests and benchmarks.
export { berthOciHooks, berthHookPath, hookEnvFrom, hookEnvNames, type OciHook } from './hooks/oci-hooks.js';
export { buildSpec, type SpecOptions } from './containers/spec.js';
export { hookPaths, type HookPaths } from './hooks/paths.js';
export { RecordStore, type HookRecord } from './hooks/record.js';
export { HOOK_FAILPOINTS, type HookFailpoint } from './hooks/failpoints.js';
export { hooksDFiles, hooksDFileName, hooksDirDefault } from './hooks/hooks-d.js';
export { callDaemon, DaemonClientError } from './daemon/client.js';
export * from './runtime/index.js';
