/**
 * A stage's time budget. Every plugin exec and berthd call gets what is left of it (capped at its own limit), and
 * the attach phase keeps a reserve for its own rollback, so a hung plugin or berthd makes the stage fail cleanly
 * (killed, rolled back, one line) before the stage's deadline, rather than the runtime killing the hook mid-way.
 */
export class Deadline {
  readonly atMs: number;
  /** What the rollback after a failed attach may need. */
  readonly reserveMs: number;

  constructor(budgetMs: number, now = Date.now()) {
    this.atMs = now + budgetMs;
    this.reserveMs = Math.min(reserveMsMax, Math.floor(budgetMs / 3));
  }

  /** Milliseconds for one call: at most `capMs`, at least `callMsMin`; `keepReserve` for work that may need undoing. */
  callMs(capMs: number, keepReserve: boolean): number {
    const left = this.atMs - Date.now() - (keepReserve ? this.reserveMs : 0);
    return Math.max(callMsMin, Math.min(capMs, left));
  }
}

const reserveMsMax = 15_000;
const callMsMin = 250;
