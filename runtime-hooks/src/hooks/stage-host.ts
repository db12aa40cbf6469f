/**
 * What changes about the hook stages when a long-lived process runs them itself (berthd, for the runs it serves)
 * rather than the hook executable or `berth run`'s short-lived process.
 */
import type { RegistryFor } from '@berth/firewall';

export interface StageHost {
  /** The firewall plugin's endpoint registry (default: berthd's, reached over its socket when in a cluster). */
  readonly firewallRegistry?: RegistryFor;
  /** Wait for the hook log to reach the file at the end of each stage (a process about to exit must). */
  readonly flushLogEachStage: boolean;
}

let current: StageHost = { flushLogEachStage: true };

/** berthd, at start: stages run in this process use its registry and leave the log to be written behind them. */
export function hostStages(host: StageHost): void {
  current = host;
}

export function stageHost(): StageHost {
  return current;
}
