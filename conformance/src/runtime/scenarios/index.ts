import type { Scenario } from '../scenario.js';
import { filesystemScenarios } from './filesystem.js';
import { hookScenarios } from './hooks.js';
import { hostileScenarios } from './hostile.js';
import { lifecycleScenarios } from './lifecycle.js';
import { processScenarios } from './process.js';
import { seccompScenarios } from './seccomp.js';
import { terminalScenarios } from './terminal.js';
import { userNamespaceScenarios } from './userns.js';

/** Every scenario of the runtime conformance suite, in the order the table prints them. */
export const runtimeScenarios: readonly Scenario[] = [
  ...lifecycleScenarios, ...processScenarios, ...filesystemScenarios, ...hookScenarios, ...terminalScenarios, ...seccompScenarios,
  ...userNamespaceScenarios,
  ...hostileScenarios,
];
