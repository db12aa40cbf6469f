import { StoreError, StoreErrorCode } from './errors.js';

/** Every Berth key lives under this root; the version lets a later layout live beside this one. */
export const keyspaceRoot = '/berth/v1/';
export const valueBytesMaxDefault = 1024 * 1024;

const collectionNamePattern = /^[a-z0-9][a-z0-9-]{0,31}(\/[a-z0-9][a-z0-9-]{0,31}){0,3}$/;
const idPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/;

/** A typed set of keys `/berth/v1/<name>/<id>` whose values are JSON checked by `parse` on every read. */
export interface Collection<T> {
  readonly name: string;
  readonly prefix: string;
  readonly valueBytesMax: number;
  key(id: string): string;
  idOf(key: string): string;
  encode(value: T): Buffer;
  decode(bytes: Buffer, key: string): T;
}

export function assertKeyId(id: unknown, collection: string): asserts id is string {
  if (typeof id !== 'string' || !idPattern.test(id)) {
    throw new StoreError(StoreErrorCode.InvalidKey, `Invalid id ${JSON.stringify(String(id).slice(0, 140))} in ${collection}: expected [a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}`);
  }
}

export function defineCollection<T>(name: string, parse: (value: unknown) => T, options: { valueBytesMax?: number } = {}): Collection<T> {
  if (!collectionNamePattern.test(name)) throw new RangeError(`Invalid collection name ${JSON.stringify(name)}`);
  const prefix = `${keyspaceRoot}${name}/`;
  const valueBytesMax = options.valueBytesMax ?? valueBytesMaxDefault;
  return {
    name,
    prefix,
    valueBytesMax,
    key(id) {
      assertKeyId(id, name);
      return `${prefix}${id}`;
    },
    idOf(key) {
      const id = key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
      assertKeyId(id, name);
      return id;
    },
    encode(value) {
      let text: string | undefined;
      try {
        text = JSON.stringify(parse(value));
      } catch (error) {
        throw new StoreError(StoreErrorCode.InvalidValue, `Cannot store a value in ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (text === undefined) throw new StoreError(StoreErrorCode.InvalidValue, `Cannot store a value in ${name}: not JSON`);
      const bytes = Buffer.from(text, 'utf8');
      if (bytes.length > valueBytesMax) throw new StoreError(StoreErrorCode.TooLarge, `Cannot store a value of ${bytes.length} bytes in ${name}: the limit is ${valueBytesMax}`);
      return bytes;
    },
    decode(bytes, key) {
      try {
        return parse(JSON.parse(bytes.toString('utf8')));
      } catch (error) {
        throw new StoreError(StoreErrorCode.InvalidValue, `Stored value at ${key} is not a valid ${name} entry: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}
