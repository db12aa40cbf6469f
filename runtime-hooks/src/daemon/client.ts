import { request } from 'node:http';
import { berthSocketDefault } from './options.js';

export class DaemonClientError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'DaemonClientError';
    this.code = code;
  }
}

export function socketPathFrom(env: NodeJS.ProcessEnv, override?: string): string {
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
      else if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new DaemonClientError('UNREACHABLE', `Cannot reach berthd at ${options.socketPath}: is it running?`));
      else if (error.code === 'EACCES') reject(new DaemonClientError('PERMISSION', `Permission denied on ${options.socketPath}: berthd's socket is for its own user`));
      else reject(new DaemonClientError('UNREACHABLE', `Cannot talk to berthd at ${options.socketPath}: ${error.message}`));
    });
    req.end(payload);
  });
}
