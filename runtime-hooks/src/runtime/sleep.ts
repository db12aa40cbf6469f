const cell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the (single-threaded, short-lived) runtime for a few milliseconds inside a bounded polling loop. */
export function sleepSync(milliseconds: number): void {
  Atomics.wait(cell, 0, 0, milliseconds);
}
