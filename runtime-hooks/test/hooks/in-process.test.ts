import t from 'tap';
import { berthHooksInProcess } from '../../src/hooks/in-process.js';
import { berthOciHooks } from '../../src/hooks/oci-hooks.js';

t.test('berth run takes Berth\'s own hook entries for their stage; any other hook, or one with failpoints, is exec\'d', async (t) => {
  const takes = berthHooksInProcess('/opt/berth/bin/berth-hook');
  const entries = berthOciHooks({ BERTH_ROOT: '/tmp/x' }, '/opt/berth/bin/berth-hook');
  const hook = (entry: (typeof entries.createRuntime)[number]) => ({ path: entry.path, args: [...entry.args], env: [...entry.env ?? []] });
  for (const stage of ['createRuntime', 'createContainer', 'poststop'] as const) {
    const [entry] = entries[stage];
    if (entry === undefined) throw new Error(`no ${stage} entry`);
    t.type(takes(hook(entry), stage), 'function', `${stage}: run in-process`);
  }
  const [createRuntime] = entries.createRuntime;
  if (createRuntime === undefined) throw new Error('no createRuntime entry');
  const cases: [string, ReturnType<typeof hook>, 'createRuntime' | 'poststop'][] = [
    ['the entry of another stage', hook(createRuntime), 'poststop'],
    ['another executable at another path', { ...hook(createRuntime), path: '/usr/lib/cni/hook' }, 'createRuntime'],
    ['Berth\'s hook installed elsewhere', { ...hook(createRuntime), path: '/usr/local/bin/berth-hook' }, 'createRuntime'],
    ['an entry naming failpoints (a crash test kills the hook\'s own process)', { ...hook(createRuntime), env: ['BERTH_FAILPOINTS=hook-after-pin'] }, 'createRuntime'],
    ['an entry without the stage argument', { ...hook(createRuntime), args: ['berth-hook'] }, 'createRuntime'],
  ];
  for (const [name, entry, stage] of cases) t.equal(takes(entry, stage), undefined, `${name}: exec'd`);
});
