import type { CniError } from '../errors.js';
import { isJsonObject, type JsonObject } from './fields.js';
import { CURRENT_VERSION, isSupportedVersion, type CniVersion } from './version.js';

/** The VERSION result: the caller's `cniVersion` echoed when Berth knows it, and every version the plugin accepts. */
export function encodeVersionInfo(requested: string | undefined, supportedVersions: readonly CniVersion[]): JsonObject {
  const cniVersion = requested !== undefined && isSupportedVersion(requested) ? requested : CURRENT_VERSION;
  return { cniVersion, supportedVersions: [...supportedVersions] };
}

/** The spec's error object for stdout. */
export function encodeError(error: CniError, cniVersion: CniVersion): JsonObject {
  return error.toJson(cniVersion);
}

/**
 * The `cniVersion` a possibly-invalid stdin declares, when it is one Berth supports: the version an error answer
 * should carry. Never throws.
 */
export function declaredVersion(text: string): CniVersion | undefined {
  try {
    const value: unknown = JSON.parse(text);
    const version = isJsonObject(value) ? value['cniVersion'] : undefined;
    return typeof version === 'string' && isSupportedVersion(version) ? version : undefined;
  } catch {
    return undefined;
  }
}

/** How results and errors are printed: one JSON document and a newline. */
export function formatJson(value: JsonObject): string {
  return `${JSON.stringify(value)}\n`;
}
