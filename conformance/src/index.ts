export * from './harness/index.js';
export * from './linearizability/index.js';
