export { execCommand, execChecked, type ExecOptions, type ExecResult } from './exec.js';
export { TestHost, TestNetns, createTestNetns, uniqueName, type TeardownRegistry } from './test-host.js';
export { snapshotHostState, diffHostState, type HostState } from './leaks.js';
export { Teardowns } from './teardowns.js';
export { settle } from './settle.js';
