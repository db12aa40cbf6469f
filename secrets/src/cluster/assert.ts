/** Invariant check for programmer errors (never for input validation, which returns typed errors). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
