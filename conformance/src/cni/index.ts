export { berthImplementation, referenceImplementation, pluginType, ipamType, type CniImplementation, type PluginRole } from './implementation.js';
export { CniEngine, PluginCallError, pluginCallTimeoutMs, type PluginOutcome, type CniCommandName } from './engine.js';
export {
  ScenarioFailure, expect, scenarioNetwork, attachment, resultAddresses, scenarioBridge, scenarioSubnet, scenarioGateway,
  outsideHostAddress, outsideClientAddress, type ScenarioContext, type NetworkOptions,
} from './context.js';
export { cniScenarios, type CniScenario } from './scenarios.js';
export { runScenario, runCniConformance, formatConformanceTable, type ScenarioResult, type RunOptions } from './runner.js';
export { addOutside, startSourceEchoServer, askSource, pings } from './traffic.js';
export { linkNames, globalAddresses, reservedAddresses, rulesetText } from './inspect.js';
export {
  PodmanSandbox, createPodmanSandbox, makeBusyboxRootfs, hardLimit, nofileLimitMax, nprocLimitMax, cniResultsCacheDir,
  type PodmanSandboxOptions,
} from './podman.js';
export { CniBerthd, cniModes, execModeEnv, totalCalls, type CniMode, type CniServedStats } from './modes.js';
export { ContainerdSandbox, createContainerdSandbox, podNetnsPath, type ContainerdSandboxOptions } from './containerd.js';
export { CriClient, type PodSandboxConfig, type PodSandboxStatus, type PodPortMapping } from './cri-client.js';
export { buildPauseImage, pauseImageName } from './pause-image.js';
export { sideBySideSuite, type SideBySideOptions } from './side-by-side.js';
