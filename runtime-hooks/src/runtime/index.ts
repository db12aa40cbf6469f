export { main as runtimeMain, runtimeVersion } from './main.js';
export { defaultSpec } from './default-spec.js';
export { capabilityNamesOf } from './capabilities.js';
export { readCgroupLayout, containerDir, type CgroupLayout, type Hierarchy } from './cgroup-layout.js';
export { helperPath } from './helper.js';
export { EmbeddedRuntime, type EmbeddedRunOutcome } from './embedded.js';
export type { InProcessHooks } from './hooks.js';
export type { Hook, HookKind } from './spec.js';
