import type { PluginConfig } from '../spec/config.js';
import type { CniCommand, CniEnvironment, CniParameters } from '../spec/env.js';
import type { Result } from '../spec/result.js';
import type { CniVersion } from '../spec/version.js';

/** The commands a plugin implements (VERSION is answered by the skeleton). */
export type PluginCommand = Exclude<CniCommand, 'VERSION'>;

/**
 * One invocation of a plugin: the protocol parameters, the parsed configuration, and what delegation needs to pass
 * on unchanged (the stdin text and the environment). Built by the skeleton, or by a caller running a plugin
 * in-process (see `requestFor`).
 */
export interface CniRequest extends Omit<CniParameters, 'command'> {
  readonly command: PluginCommand;
  readonly config: PluginConfig;
  /** The configuration exactly as received on stdin. */
  readonly stdin: string;
  /** The invocation's environment: CNI_* plus whatever else the engine set (delegated plugins get the same). */
  readonly env: CniEnvironment;
  /**
   * The host's network namespace, where the host side of the call goes (bridge, host veth end, NAT, host sysctls), as
   * a path; undefined: the namespace this process runs in. berthd sets it to its caller's namespace.
   */
  readonly hostNetns?: string;
}

/**
 * A CNI plugin as data: functions over a request that never touch `process` (the skeleton owns env, stdin, stdout,
 * exit codes). Failures are thrown as `CniError`; anything else becomes code 999.
 * `status` and `gc` default to success (nothing to report, nothing to collect).
 */
export interface CniPlugin {
  /** The executable's name, e.g. "berth-ipam": used in messages. */
  readonly name: string;
  readonly supportedVersions: readonly CniVersion[];
  add(request: CniRequest): Promise<Result>;
  del(request: CniRequest): Promise<void>;
  check(request: CniRequest): Promise<void>;
  status?(request: CniRequest): Promise<void>;
  gc?(request: CniRequest): Promise<void>;
}
