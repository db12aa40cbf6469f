/** Small containers the compiler keeps its objects in. */
import { assert } from '../errors.js';
import { recordFirst } from './change-log.js';

interface Counted<T> {
  readonly value: T;
  references: number;
}

/**
 * Named objects (profiles, action chains) kept while something refers to them. Appearing and going are logged
 * (their value before: null when new) in the log map `log()` returns at that moment.
 */
export class Referenced<T> {
  readonly entries = new Map<string, Counted<T>>();
  readonly #log: () => Map<string, T | null>;

  constructor(log: () => Map<string, T | null>) {
    this.#log = log;
  }

  /** True when the object is new. */
  acquire(name: string, value: T): boolean {
    const counted = this.entries.get(name);
    if (counted !== undefined) {
      counted.references += 1;
      return false;
    }
    recordFirst(this.#log(), name, null);
    this.entries.set(name, { value, references: 1 });
    return true;
  }

  /** The object when this was its last reference (it is gone now), else null. */
  release(name: string): T | null {
    const counted = this.entries.get(name);
    assert(counted !== undefined && counted.references > 0, `${name} is referenced`);
    counted.references -= 1;
    if (counted.references > 0) return null;
    recordFirst(this.#log(), name, counted.value);
    this.entries.delete(name);
    return counted.value;
  }
}

/** A read-only map whose values are derived from another map's on access (no copy of the whole). */
export class MapView<V, T> implements ReadonlyMap<string, V> {
  readonly #source: ReadonlyMap<string, T>;
  readonly #value: (source: T) => V;

  constructor(source: ReadonlyMap<string, T>, value: (source: T) => V) {
    this.#source = source;
    this.#value = value;
  }

  get size(): number {
    return this.#source.size;
  }

  get(key: string): V | undefined {
    const source = this.#source.get(key);
    return source === undefined ? undefined : this.#value(source);
  }

  has(key: string): boolean {
    return this.#source.has(key);
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }

  *entries(): MapIterator<[string, V]> {
    for (const [key, source] of this.#source) yield [key, this.#value(source)];
  }

  keys(): MapIterator<string> {
    return this.#source.keys();
  }

  *values(): MapIterator<V> {
    for (const source of this.#source.values()) yield this.#value(source);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}
