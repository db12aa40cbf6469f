/** A runtime failure the user can act on: its message is printed as runc prints errors, with runc's exit code. */
export class RuntimeError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'RuntimeError';
    this.exitCode = exitCode;
  }
}

/** A config.json that berth-runtime refuses; `field` names the offending field as a JSON path (process.args…). */
export class SpecError extends RuntimeError {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'SpecError';
    this.field = field;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
