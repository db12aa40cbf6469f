import t from 'tap';
import { Dispatcher } from '../../src/secrets/dispatcher.js';
import { SecretErrorCode } from '../../src/secrets/errors.js';
import { tasksCollection } from '../../src/secrets/schema.js';
import { logger, makeCluster } from './helpers.js';

t.test('a manager without the cluster key sends a waiting host elsewhere at once; one with it holds the long poll', async (t) => {
  const cluster = await makeCluster(t);
  const holder = await cluster.manager('m1');
  const keyless = await cluster.manager('m2');
  t.equal(keyless.keyring.state, 'unavailable', 'm2 holds no cluster key (as a manager restarted locked)');
  const dispatchers = [holder, keyless].map((manager) => new Dispatcher({ store: cluster.store, service: manager.service, keyring: manager.keyring, logger }));
  for (const dispatcher of dispatchers) {
    await dispatcher.start();
    t.teardown(() => dispatcher.close());
  }
  const [onHolder, onKeyless] = dispatchers as [Dispatcher, Dispatcher];
  await cluster.store.put(tasksCollection('w1'), 'c1', { containerId: 'c1', service: 'web', labels: {}, nodeId: 'w1', registeredAt: new Date().toISOString() });
  const first = await onHolder.assignments('w1', { have: {}, containerIds: ['c1'], waitMs: 0 });
  const fingerprint = first.tasks[0]?.fingerprint ?? '';
  t.not(fingerprint, '', 'the task is answered with its fingerprint');

  await t.rejects(onKeyless.assignments('w1', { have: { c1: fingerprint }, containerIds: [], waitMs: 20_000 }), { code: SecretErrorCode.Locked },
    'the keyless manager refuses to hold the poll: it could not deliver the change it would wait for');
  const held = await onHolder.assignments('w1', { have: { c1: fingerprint }, containerIds: [], waitMs: 200 });
  t.same(held.tasks, [], 'the key holder waits and answers "nothing changed" at the deadline');
});
