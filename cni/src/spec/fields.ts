import { CniCode, CniError } from '../errors.js';

/** A decoded JSON object. Readers below check each field's type and name the field when it is wrong (code 7). */
export type JsonObject = { readonly [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of field `key` as Go's encoding/json finds it, and so every reference plugin: the key itself, else a key
 * equal to it ignoring ASCII case. Engines rely on it: go-cni (containerd, CRI-O) sends capability arguments with Go
 * field names and no JSON tags ("HostPort", "RangeStart", "IngressRate"). Every reader of CNI input goes through this.
 */
export function fieldValue(object: JsonObject, key: string): unknown {
  if (Object.hasOwn(object, key)) return object[key];
  const folded = key.toLowerCase();
  for (const [name, value] of Object.entries(object)) if (name.toLowerCase() === folded) return value;
  return undefined;
}

/** `parent.key`, or `key` at the top level: the name an error message gives a field. */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function invalidField(path: string, expected: string, value: unknown): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "${path}" must be ${expected}, got ${describe(value)}`);
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw invalidField(path, 'an object', value);
  return value;
}

export function optionalObject(object: JsonObject, key: string, parent: string): JsonObject | undefined {
  const value = fieldValue(object, key);
  return value === undefined || value === null ? undefined : expectObject(value, fieldPath(parent, key));
}

export function optionalString(object: JsonObject, key: string, parent: string): string | undefined {
  const value = fieldValue(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidField(fieldPath(parent, key), 'a string', value);
  return value;
}

export function requiredString(object: JsonObject, key: string, parent: string): string {
  const value = optionalString(object, key, parent);
  if (value === undefined || value === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "${fieldPath(parent, key)}" is required`);
  }
  return value;
}

export function optionalBoolean(object: JsonObject, key: string, parent: string): boolean | undefined {
  const value = fieldValue(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidField(fieldPath(parent, key), 'a boolean', value);
  return value;
}

/** A non-negative integer no larger than `maximum` (JSON numbers; CNI's uint fields). */
export function optionalUint(object: JsonObject, key: string, parent: string, maximum = 0xffff_ffff): number | undefined {
  const value = fieldValue(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > maximum) {
    throw invalidField(fieldPath(parent, key), `an integer from 0 to ${maximum}`, value);
  }
  return value;
}

export function optionalArray(object: JsonObject, key: string, parent: string): readonly unknown[] | undefined {
  const value = fieldValue(object, key);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidField(fieldPath(parent, key), 'an array', value);
  return value;
}

export function optionalStringArray(object: JsonObject, key: string, parent: string): readonly string[] | undefined {
  const array = optionalArray(object, key, parent);
  if (array === undefined) return undefined;
  return array.map((item, index) => {
    if (typeof item !== 'string') throw invalidField(fieldPath(fieldPath(parent, key), index), 'a string', item);
    return item;
  });
}

/**
 * Refuses keys outside `allowed` (code 2, as the spec asks: the message names the key and its value). For plugins
 * that choose to reject unknown configuration; keys starting with "cni.dev/" are the protocol's and always allowed.
 */
export function rejectUnknownFields(object: JsonObject, allowed: readonly string[], parent: string): void {
  for (const [key, value] of Object.entries(object)) {
    if (allowed.some((name) => name.toLowerCase() === key.toLowerCase()) || key.startsWith('cni.dev/')) continue;
    const shown = JSON.stringify(value) ?? String(value);
    throw new CniError(CniCode.UnsupportedField,
      `Unsupported field in network config: "${fieldPath(parent, key)}" = ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`);
  }
}
