import { pino, destination as pinoDestination, type Logger } from 'pino';

export type { Logger };

/**
 * Field names whose values are secrets wherever they appear: tokens, secrets, passwords, private keys, PEM, and the
 * `value`/`data` of stored entries. (A field named `key` is usually a store key: a private key in it is PEM text,
 * which the text pattern catches.)
 */
const secretFieldPattern = /token|secret|password|passphrase|private|pem$|^(?:value|data)$/i;
/** Text that is a secret whatever field holds it: PEM blocks and Berth join tokens (also inside messages). */
const secretTextPattern = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)|BRTTKN-1-[0-9a-f]{64}-[0-9a-f]{32}/g;
const redacted = '[redacted]';
const depthMax = 12;

function scrubText(text: string): string {
  return text.replace(secretTextPattern, redacted);
}

/** A copy of a log object with secret fields and secret-looking text replaced, at any depth (bounded), cycles cut. */
export function scrubSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth >= depthMax) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1, seen));
  if (value instanceof Error) return { type: value.name, message: scrubText(value.message), code: (value as { code?: unknown }).code };
  if (Buffer.isBuffer(value)) return redacted;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    out[name] = secretFieldPattern.test(name) && field !== undefined && field !== null && typeof field !== 'number' && typeof field !== 'boolean' ? redacted : scrubSecrets(field, depth + 1, seen);
  }
  return out;
}

/**
 * The one way Berth code gets a logger. JSON lines go to `BERTH_LOG_FILE` when set, else stderr:
 * never stdout, which carries a CNI plugin's result. The level comes from `BERTH_LOG_LEVEL`. Every record passes
 * through `scrubSecrets` (fields and message text), so a token, key or PEM never reaches a log, however nested.
 */
export function createLogger(component: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env['BERTH_LOG_LEVEL'] ?? 'warn';
  const file = env['BERTH_LOG_FILE'];
  const destination = file === undefined || file === ''
    ? pinoDestination({ fd: 2, sync: true })
    : pinoDestination({ dest: file, mkdir: true, append: true, sync: false });
  return pino({
    level,
    base: { component, pid: process.pid },
    formatters: { log: (object) => scrubSecrets(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)) as Parameters<typeof method>);
      },
    },
  }, destination);
}

const sharedLoggers = new Map<string, Logger>();

/**
 * createLogger's logger, made once per component, level and file for the life of the process: a long-lived process
 * that logs per container (berthd running the hook stages of the runs it serves) opens the file once, not per call.
 */
export function sharedLogger(component: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const key = JSON.stringify([component, env['BERTH_LOG_LEVEL'] ?? 'warn', env['BERTH_LOG_FILE'] ?? '']);
  let logger = sharedLoggers.get(key);
  if (logger === undefined) {
    logger = createLogger(component, env);
    sharedLoggers.set(key, logger);
  }
  return logger;
}
