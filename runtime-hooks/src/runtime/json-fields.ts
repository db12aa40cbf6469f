import { SpecError } from './errors.js';

/** Typed readers over parsed JSON that throw a SpecError naming the field (`linux.namespaces[2].type`). */
export type Json = unknown;

export function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: Json, field: string): Record<string, Json> {
  if (!isObject(value)) throw new SpecError(field, 'must be an object');
  return value;
}

export function optionalObject(value: Json, field: string): Record<string, Json> | undefined {
  return value === undefined || value === null ? undefined : objectAt(value, field);
}

export function stringAt(value: Json, field: string): string {
  if (typeof value !== 'string') throw new SpecError(field, 'must be a string');
  return value;
}

export function optionalString(value: Json, field: string): string | undefined {
  return value === undefined || value === null ? undefined : stringAt(value, field);
}

export function booleanAt(value: Json, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new SpecError(field, 'must be true or false');
  return value;
}

/** A non-negative integer no larger than max. */
export function integerAt(value: Json, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new SpecError(field, `must be an integer from 0 to ${max}`);
  }
  return value;
}

export function optionalInteger(value: Json, field: string, max?: number): number | undefined {
  return value === undefined || value === null ? undefined : integerAt(value, field, max);
}

/** A 64-bit quantity (JSON numbers past 2^53 arrive rounded; values at or past 2^64 mean "all ones"). */
export function bigIntegerAt(value: Json, field: string, { signed = false } = {}): bigint {
  if (typeof value !== 'number' || !Number.isInteger(value) || (!signed && value < 0)) {
    throw new SpecError(field, signed ? 'must be an integer' : 'must be a non-negative integer');
  }
  const big = BigInt(value);
  return big >= 1n << 64n ? (1n << 64n) - 1n : big;
}

export function optionalBigInteger(value: Json, field: string, options?: { signed?: boolean }): bigint | undefined {
  return value === undefined || value === null ? undefined : bigIntegerAt(value, field, options);
}

export function arrayAt(value: Json, field: string): readonly Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SpecError(field, 'must be an array');
  return value;
}

export function stringsAt(value: Json, field: string): string[] {
  return arrayAt(value, field).map((item, index) => stringAt(item, `${field}[${index}]`));
}

export function absolutePathAt(value: Json, field: string): string {
  const path = stringAt(value, field);
  if (!path.startsWith('/')) throw new SpecError(field, `${JSON.stringify(path)} must be an absolute path`);
  if (path.includes('\0')) throw new SpecError(field, 'must not contain NUL');
  return path;
}

/** Refuses `..` anywhere in a path that must stay inside the container's root. */
export function withoutDotDot(path: string, field: string): string {
  if (path.split('/').includes('..')) throw new SpecError(field, `${JSON.stringify(path)}: '..' is not allowed`);
  return path;
}
