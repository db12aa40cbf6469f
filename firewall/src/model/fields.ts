/**
 * Path-aware readers for untrusted documents. Every failure throws FirewallError(InvalidDocument) whose
 * message starts with the field path (`spec.ingress[0].ports[1].port: ...`). YAML `null` counts as absent,
 * as it does for the Kubernetes API server.
 */
import { FirewallCode, FirewallError } from '../errors.js';

export type RawObject = Readonly<Record<string, unknown>>;

export function invalid(path: string, message: string): never {
  throw new FirewallError(FirewallCode.InvalidDocument, `${path}: ${message}`, { field: path });
}

export function fieldPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function itemPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/** An object whose keys are all in `allowed` (strict field validation, as kubectl's default). */
export function objectAt(value: unknown, path: string, allowed: readonly string[]): RawObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(path, `must be an object, got ${describe(value)}`);
  }
  const object = value as RawObject;
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) invalid(fieldPath(path, key), `unknown field (expected one of ${allowed.join(', ')})`);
  }
  return object;
}

export function arrayAt(value: unknown, path: string, limits: { min?: number; max?: number } = {}): readonly unknown[] {
  if (!Array.isArray(value)) invalid(path, `must be a list, got ${describe(value)}`);
  if (limits.min !== undefined && value.length < limits.min) invalid(path, `must have at least ${limits.min} item(s)`);
  if (limits.max !== undefined && value.length > limits.max) invalid(path, `must have at most ${limits.max} items, got ${value.length}`);
  return value;
}

export function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') invalid(path, `must be a string, got ${describe(value)}`);
  return value;
}

export function integerAt(value: unknown, path: string, range: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) invalid(path, `must be an integer, got ${describe(value)}`);
  if (value < range.min || value > range.max) invalid(path, `must be between ${range.min} and ${range.max}, got ${value}`);
  return value;
}

export function requiredAt(object: RawObject, key: string, path: string): unknown {
  const value = object[key];
  if (isAbsent(value)) invalid(fieldPath(path, key), 'required value is missing');
  return value;
}

/** Items of an optional list field; absent or null is an empty list. */
export function listField(object: RawObject, key: string, path: string, limits: { min?: number; max?: number } = {}): readonly unknown[] | null {
  const value = object[key];
  if (isAbsent(value)) return null;
  return arrayAt(value, fieldPath(path, key), limits);
}

/** Exactly one of `keys` must be set (the "one-of" unions of the Kubernetes APIs). */
export function oneOf(object: RawObject, path: string, keys: readonly string[]): string {
  const present = keys.filter((key) => !isAbsent(object[key]));
  if (present.length !== 1) {
    invalid(path, present.length === 0
      ? `exactly one of ${keys.join(', ')} is required`
      : `exactly one of ${keys.join(', ')} may be set, got ${present.join(' and ')}`);
  }
  return present[0] as string;
}
