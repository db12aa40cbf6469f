import { Hono } from 'hono';
import { assertContainerId, parseTaskInput } from '@berth/secrets';
import { jsonBody } from '../errors.js';
import type { SecretsRuntime } from '../secrets-runtime.js';

/**
 * The tasks API the OCI hooks call (CONTRACTS.md): createRuntime registers a container of a service and gets its
 * secrets dir back once the files are in place; poststop deregisters it. 409 NOT_IN_CLUSTER without a cluster.
 */
export function createTasksRouter(runtime: SecretsRuntime): Hono {
  const app = new Hono();
  app.post('/v1/tasks', async (c) => {
    const input = parseTaskInput(await jsonBody(c));
    const task = await runtime.agent().register(input);
    return c.json({ containerId: task.containerId, secretsDir: task.secretsDir, secrets: task.secrets });
  });
  app.get('/v1/tasks', (c) => c.json(runtime.agent().list()));
  app.delete('/v1/tasks/:containerId', async (c) => {
    const containerId = c.req.param('containerId');
    assertContainerId(containerId);
    await runtime.agent().deregister(containerId);
    return c.json({ containerId, removed: true });
  });
  return app;
}
