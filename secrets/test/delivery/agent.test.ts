import t from 'tap';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@berth/cni';
import { DeliveryAgent } from '../../src/delivery/agent.js';
import { DeliveryMetrics } from '../../src/delivery/metrics.js';
import { isMountPoint, mountSecretsTmpfs, secretsDirOf, unmountSecretsTmpfs } from '../../src/delivery/tmpfs.js';
import type { AssignmentsRequest, AssignmentsResponse } from '../../src/secrets/dispatcher.js';
import { SecretError, SecretErrorCode } from '../../src/secrets/errors.js';
import { tasksCollection } from '../../src/secrets/schema.js';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { Store } from '../../src/store/typed-store.js';

const logger = createLogger('test', { BERTH_LOG_LEVEL: 'silent' });

/** A manager stand-in: answers the registration request from `assign`, and parks long polls until closed. */
function fakeManager(assign: (request: AssignmentsRequest) => AssignmentsResponse) {
  return async (request: AssignmentsRequest, signal?: AbortSignal): Promise<AssignmentsResponse> => {
    if (request.waitMs === 0) return assign(request);
    await new Promise((resolve) => signal?.addEventListener('abort', resolve));
    throw new Error('aborted');
  };
}

const secret = (value: string, version = 1) => ({ name: 'db', version, target: 'db', uid: 0, gid: 0, mode: 0o400, committedAt: new Date().toISOString(), value: Buffer.from(value).toString('base64') });

t.test('register, restart and deregister, against a stand-in manager on a real tmpfs', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'bt-agent-'));
  const kv = new MemoryKvStore();
  const store = new Store(kv);
  const agents: DeliveryAgent[] = [];
  t.teardown(async () => {
    for (const agent of agents) await agent.close({ dropTasks: true });
    for (const name of await readdir(join(runDir, 'secrets')).catch(() => [])) await unmountSecretsTmpfs(join(runDir, 'secrets', name));
    await kv.close();
    await rm(runDir, { recursive: true, force: true });
  });
  let failNext = false;
  const makeAgent = (): DeliveryAgent => {
    const agent = new DeliveryAgent({
      store, nodeId: 'n1', runDir, logger, metrics: new DeliveryMetrics(),
      fetchAssignments: fakeManager((request) => {
        if (failNext) throw new SecretError(SecretErrorCode.DeliveryFailed, 'No manager could deliver secrets');
        return { revision: kv.revision, tasks: request.containerIds.map((containerId) => ({ containerId, fingerprint: 'f1', secrets: [secret('v1')] })) };
      }),
    });
    agents.push(agent);
    return agent;
  };
  const first = makeAgent();
  await first.start();
  const view = await first.register({ containerId: 'c1', service: 'web', labels: {} });
  t.same(view.secrets, ['db']);
  t.equal(await readFile(join(view.secretsDir, 'db'), 'utf8'), 'v1', 'files in place when register returns');
  t.ok(await store.get(tasksCollection('n1'), 'c1'), 'task recorded');

  failNext = true;
  await t.rejects(first.register({ containerId: 'c2', service: 'web', labels: {} }), { code: 'SECRETS_UNAVAILABLE' });
  t.notOk(await store.get(tasksCollection('n1'), 'c2'), 'a failed registration leaves no record');
  t.notOk(await isMountPoint(secretsDirOf(runDir, 'c2')), 'nor a mount');
  failNext = false;
  await t.rejects(first.register({ containerId: 'c1', service: 'api', labels: {} }), { code: 'TASK_INVALID' }, 'one container, one service');

  // a restart: c1 still mounted (a running container); c3 recorded but its tmpfs gone; an orphan dir
  await first.close({ dropTasks: false });
  await store.put(tasksCollection('n1'), 'c3', { containerId: 'c3', service: 'web', labels: {}, nodeId: 'n1', registeredAt: new Date().toISOString() });
  await mountSecretsTmpfs(secretsDirOf(runDir, 'orphan'));
  await mkdir(join(runDir, 'secrets', 'stray'), { recursive: true });
  const second = makeAgent();
  await second.start();
  t.same(second.list().map((task) => task.containerId), ['c1'], 'the running container is picked up again');
  t.notOk(await store.get(tasksCollection('n1'), 'c3'), 'a task without its tmpfs is dropped, not resurrected');
  t.same((await readdir(join(runDir, 'secrets'))).sort(), ['c1'], 'orphan and stray dirs removed');
  t.equal(await readFile(join(secretsDirOf(runDir, 'c1'), 'db'), 'utf8'), 'v1');

  await second.deregister('c1');
  t.notOk(await isMountPoint(secretsDirOf(runDir, 'c1')), 'unmounted');
  t.same(await readdir(join(runDir, 'secrets')), [], 'dir removed');
  t.notOk(await store.get(tasksCollection('n1'), 'c1'), 'record removed');
  await second.deregister('c1');
  t.pass('deregistration is idempotent');
  await t.rejects(second.deregister('../x'), { code: 'TASK_INVALID' });
});
