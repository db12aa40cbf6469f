/**
 * FNV-1a, 64 bits: a small, stable, dependency-free hash for deterministic names and MAC addresses (not for anything
 * an attacker may choose to collide on purpose: callers check uniqueness where it matters). Pure; no node:crypto,
 * whose load would cost every plugin start a couple of milliseconds.
 */
const offsetBasis = 0xcbf29ce484222325n;
const prime = 0x100000001b3n;
const mask64 = (1n << 64n) - 1n;

export function fnv1a64(text: string): bigint {
  let hash = offsetBasis;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & mask64;
  }
  return hash;
}

/** The low `digits` hex digits of the hash of `text`, zero-padded. */
export function hashHex(text: string, digits: number): string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 16) throw new RangeError(`hashHex: digits ${digits} is not 1-16`);
  return (fnv1a64(text) & ((1n << BigInt(digits * 4)) - 1n)).toString(16).padStart(digits, '0');
}
