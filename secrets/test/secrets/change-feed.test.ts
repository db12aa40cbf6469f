import t from 'tap';
import { ChangeFeed, classifyKey, concerns, recentChangesMax, type Interest } from '../../src/secrets/change-feed.js';

const web: Interest = { nodeId: 'n1', secrets: new Set(['db']), services: new Set(['web']) };

t.test('store keys are classified and matched against what a host waits for', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['/berth/v1/secrets/meta/db', true],
    ['/berth/v1/secrets/meta/other', false],
    ['/berth/v1/secrets/grants/other:web', true],
    ['/berth/v1/secrets/grants/db:api', false],
    ['/berth/v1/tasks/n1/c1', true],
    ['/berth/v1/tasks/n2/c1', false],
    ['/berth/v1/secrets/unknown/x', true],
  ];
  for (const [key, expected] of cases) t.equal(concerns(classifyKey(key), web), expected, key);
});

t.test('a waiter wakes on a change that concerns it, not on others; changes between plan and wait are not lost', async (t) => {
  const feed = new ChangeFeed();
  const since = feed.generation;
  feed.publish([classifyKey('/berth/v1/secrets/meta/other')]);
  let woke = false;
  const waiting = feed.changeAfter(web, since, 5_000).then(() => { woke = true; });
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(woke, 'an unrelated change before registering does not wake');
  feed.publish([classifyKey('/berth/v1/tasks/n2/x'), classifyKey('/berth/v1/secrets/meta/other')]);
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(woke, 'nor after');
  feed.publish([classifyKey('/berth/v1/secrets/meta/db')]);
  await waiting;
  t.ok(woke, 'a rotation of its secret wakes it');

  /** Whether the wait is already over when the current I/O turn ends (no clock involved). */
  const settlesAtOnce = (wait: Promise<void>): Promise<boolean> => Promise.race([wait.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  const before = feed.generation;
  feed.publish([classifyKey('/berth/v1/secrets/grants/new:web')]);
  t.ok(await settlesAtOnce(feed.changeAfter(web, before, 60_000)), 'a concerning change after the plan but before the wait resolves at once');
  const old = feed.generation;
  for (let i = 0; i <= recentChangesMax; i += 1) feed.publish([classifyKey('/berth/v1/secrets/meta/other')]);
  t.ok(await settlesAtOnce(feed.changeAfter(web, old, 60_000)), 'past the remembered window, a waiter is woken rather than risk a miss');
  const pending = feed.changeAfter(web, feed.generation, 60_000);
  t.notOk(await settlesAtOnce(pending), 'with nothing new it waits');
  feed.wakeAll();
  t.ok(await settlesAtOnce(pending), 'until woken (close) or its deadline');
});
