declare const revisionBrand: unique symbol;

/** An etcd store revision: a non-negative safe integer. Branded so a version or a lease id is never passed as one. */
export type Revision = number & { readonly [revisionBrand]: true };

export function toRevision(value: string | number | bigint): Revision {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new RangeError(`Invalid revision ${String(value)}`);
  return number as Revision;
}

/** The revision meaning "the key must not exist" in a compare. */
export const absent = 0 as Revision;
