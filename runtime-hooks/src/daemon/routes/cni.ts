import { Hono } from 'hono';
import type { CniServer } from '@berth/cni';

/** `GET /v1/cni/stats`: calls served and declined since start (tests use it to see which path a call took). */
export function cniRoutes(server: () => CniServer | undefined): Hono {
  const app = new Hono();
  app.get('/stats', (c) => {
    const stats = server()?.stats();
    return stats === undefined
      ? c.json({ error: { code: 'NOT_READY', message: 'the CNI service is not running' } }, 503)
      : c.json(stats);
  });
  return app;
}
