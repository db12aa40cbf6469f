import { request } from 'node:http';

/**
 * The client side of berthd's local API: one JSON call over its unix socket. Here, in the package every other one
 * depends on, so light callers (the OCI hook, the exec'd berth-firewall plugin) reach berthd without loading the
 * daemon's dependencies.
 */

/** berthd's local API socket unless BERTH_SOCKET says otherwise. */
export const berthSocketDefault = '/run/berth/berthd.sock';

export class DaemonClientError extends Error {
  readonly code: string;
  /** UNREACHABLE because no socket exists at the path (no berthd started there), rather than one not answering. */
  readonly socketMissing: boolean;

  constructor(code: string, message: string, options: { socketMissing?: boolean } = {}) {
    super(message);
    this.name = 'DaemonClientError';
    this.code = code;
    this.socketMissing = options.socketMissing ?? false;
  }
}

export function socketPathFrom(env: Readonly<Record<string, string | undefined>>, override?: string): string {
  return override ?? env['BERTH_SOCKET'] ?? berthSocketDefault;
}

/** One JSON call to berthd over its unix socket; API errors become DaemonClientError with the API's code. */
export function callDaemon(options: { socketPath: string; method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown; timeoutMs: number }): Promise<unknown> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath: options.socketPath, method: options.method, path: options.path, timeout: options.timeoutMs,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new DaemonClientError('BAD_ANSWER', `berthd answered ${options.method} ${options.path} with HTTP ${res.statusCode ?? 0} and no JSON`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
          reject(new DaemonClientError(typeof error?.code === 'string' ? error.code : 'ERROR', typeof error?.message === 'string' ? error.message : `HTTP ${res.statusCode ?? 0}`));
          return;
        }
        resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new DaemonClientError('TIMEOUT', `berthd did not answer ${options.path} within ${options.timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof DaemonClientError) reject(error);
      else if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        reject(new DaemonClientError('UNREACHABLE', `Cannot reach berthd at ${options.socketPath}: is it running?`, { socketMissing: error.code === 'ENOENT' }));
      }
      else if (error.code === 'EACCES') reject(new DaemonClientError('PERMISSION', `Permission denied on ${options.socketPath}: berthd's socket is for its own user`));
      else reject(new DaemonClientError('UNREACHABLE', `Cannot talk to berthd at ${options.socketPath}: ${error.message}`));
    });
    req.end(payload);
  });
}
