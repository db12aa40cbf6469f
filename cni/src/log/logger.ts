import { pino, destination as pinoDestination, type Logger } from 'pino';

export type { Logger };

/**
 * The one way Berth code gets a logger. JSON lines go to `BERTH_LOG_FILE` when set, else stderr:
 * never stdout, which carries a CNI plugin's result. The level comes from `BERTH_LOG_LEVEL`.
 */
export function createLogger(component: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env['BERTH_LOG_LEVEL'] ?? 'warn';
  const file = env['BERTH_LOG_FILE'];
  const destination = file === undefined || file === ''
    ? pinoDestination({ fd: 2, sync: true })
    : pinoDestination({ dest: file, mkdir: true, append: true, sync: false });
  return pino({ level, base: { component, pid: process.pid }, redact: { paths: ['*.secret', '*.value', '*.data'], censor: '[redacted]' } }, destination);
}
