export { main as runtimeMain, runtimeVersion } from './main.js';
export { defaultSpec } from './default-spec.js';
export { capabilityNamesOf } from './capabilities.js';
export { readCgroupLayout, containerDir, type CgroupLayout, type Hierarchy } from './cgroup-layout.js';
export { helperPath } from './helper.js';
