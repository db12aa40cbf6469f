import type { SeccompProfile } from './seccomp.js';

/** The part of the OCI runtime-spec config (config.md, config-linux.md) that berth-runtime reads, after validation. */

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface Namespace {
  readonly type: NamespaceType;
  readonly path?: string;
}

export interface Mount {
  readonly destination: string;
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

export interface Hook {
  readonly path: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly timeoutSeconds?: number;
}

export const hookKinds = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof hookKinds)[number];
export type Hooks = Readonly<Record<HookKind, readonly Hook[]>>;

export interface Rlimit {
  readonly type: string;
  readonly soft: bigint;
  readonly hard: bigint;
}

export interface Capabilities {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly permitted: readonly string[];
  readonly inheritable: readonly string[];
  readonly ambient: readonly string[];
}

export interface Process {
  readonly terminal: boolean;
  readonly consoleSize?: { readonly height: number; readonly width: number };
  readonly user: { readonly uid: number; readonly gid: number; readonly umask?: number; readonly additionalGids: readonly number[] };
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly capabilities?: Capabilities;
  readonly rlimits: readonly Rlimit[];
  readonly noNewPrivileges: boolean;
  readonly oomScoreAdj?: number;
  /** Security labels: honoured only by refusing them where the host enforces such a policy (see prepare.ts). */
  readonly apparmorProfile?: string;
  readonly selinuxLabel?: string;
}

export interface Device {
  readonly path: string;
  readonly type: 'c' | 'b' | 'u' | 'p';
  readonly major: number;
  readonly minor: number;
  readonly fileMode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface DeviceRule {
  readonly allow: boolean;
  readonly type: 'a' | 'c' | 'b';
  readonly major: number | null;
  readonly minor: number | null;
  readonly access: string;
}

export interface Resources {
  readonly memoryLimitBytes?: bigint;
  readonly memorySwapBytes?: bigint;
  readonly memoryReservationBytes?: bigint;
  readonly cpuShares?: bigint;
  readonly cpuQuotaMicros?: bigint;
  readonly cpuPeriodMicros?: bigint;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
  readonly pidsLimit?: bigint;
  readonly devices: readonly DeviceRule[];
}

/** One line of a user namespace's uid_map or gid_map. */
export interface IdMapping {
  readonly containerID: number;
  readonly hostID: number;
  readonly size: number;
}

export interface Linux {
  readonly namespaces: readonly Namespace[];
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  readonly devices: readonly Device[];
  readonly resources: Resources;
  readonly cgroupsPath?: string;
  readonly sysctl: Readonly<Record<string, string>>;
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly rootfsPropagation?: string;
  readonly seccomp?: SeccompProfile;
}

export interface Spec {
  readonly ociVersion: string;
  readonly root: { readonly path: string; readonly readonly: boolean };
  readonly process: Process;
  readonly hostname?: string;
  readonly domainname?: string;
  readonly mounts: readonly Mount[];
  readonly hooks: Hooks;
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: Linux;
}
