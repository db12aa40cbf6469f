/** CNI specification versions: which ones Berth speaks and how they compare. */

/** Every version Berth accepts in a configuration, oldest first. 0.1.0 and 0.2.0 (no chaining) are not supported. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The spec version this code implements; used where no configuration says otherwise. */
export const CURRENT_VERSION: CniVersion = '1.1.0';

/** The version a configuration without `cniVersion` declares, as the reference library decodes it. */
export const IMPLICIT_VERSION = '0.1.0';

export function isSupportedVersion(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** `[major, minor, patch]` of a semantic version, or undefined when it is not one. */
export function parseVersion(version: string): readonly [number, number, number] | undefined {
  const match = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/.exec(version);
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. Both must parse. */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (left === undefined || right === undefined) throw new RangeError(`Cannot compare CNI versions "${a}" and "${b}"`);
  return left[0] - right[0] || left[1] - right[1] || left[2] - right[2];
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** True for 0.3.x and 0.4.0, whose results carry `ips[].version` and lack the 1.0 interface fields. */
export function isLegacyResultVersion(version: CniVersion): boolean {
  return version.startsWith('0.');
}
