export { buildBusyboxRootfs, baseConfig, writeBundle, type BundleConfig } from './rootfs.js';
export { RuntimeUnderTest, berthRuntimePath, cleanEnv, withCleanEnv } from './runtimes.js';
export { runSuite, formatTable, leftovers, type SuiteRow, type ScenarioOutcome } from './suite.js';
export { runtimeScenarios } from './scenarios/index.js';
