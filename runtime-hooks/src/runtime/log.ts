import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

/**
 * runc's logging: logrus lines (`time="…" level=error msg="…"` or JSON) to --log (default stderr). When the log is
 * a file, a fatal error is also printed plainly on stderr, as runc's fatal() does; engines read either.
 */
export class RuntimeLog {
  readonly #file: string | undefined;
  readonly #format: LogFormat;

  constructor(file: string | undefined, format: LogFormat) {
    this.#file = file === '' || file === '/dev/stderr' ? undefined : file;
    this.#format = format;
  }

  #write(level: 'error' | 'warning', message: string): void {
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const line = this.#format === 'json'
      ? `${JSON.stringify({ level, msg: message, time })}\n`
      : `time="${time}" level=${level} msg=${JSON.stringify(message)}\n`;
    if (this.#file === undefined) process.stderr.write(line);
    else {
      try {
        appendFileSync(this.#file, line, { mode: 0o644 });
      } catch {
        process.stderr.write(line);
      }
    }
  }

  warn(message: string): void {
    this.#write('warning', message);
  }

  fatal(message: string): void {
    this.#write('error', message);
    if (this.#file !== undefined) process.stderr.write(`${message}\n`);
  }
}
