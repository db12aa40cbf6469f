export * from './harness/index.js';
export * from './linearizability/index.js';
export * as runtimeSuite from './runtime/index.js';
