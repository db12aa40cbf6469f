/**
 * Never half-created: a hook that fails at any stage (a conflist that fails, a berthd that refuses, the hook or a
 * plugin SIGKILLed at each step) leaves no netns, link, rule, mount, IP, task record or process once the runtime has
 * deleted the container and `berth-hook gc` ran (for what a SIGKILLed hook could not roll back itself).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { anyLeftovers, createHooksLab, runtimeBinDir, settledVeths } from '../../src/hooks/lab.js';

const network = 'failnet';

interface Case {
  readonly name: string;
  readonly failpoints?: string;
  readonly berthd?: 'refuse' | 'not-in-cluster';
  readonly network?: string;
  readonly secrets?: boolean;
  /** The stage's own rollback ran: nothing is left even before gc. */
  readonly rolledBack: boolean;
  /** Neither the stage nor runc's poststop could finish: something is left until gc. */
  readonly leftForGc?: boolean;
  readonly ports?: boolean;
}

const cases: Case[] = [
  { name: 'a plugin of the conflist fails (missing plugin after bridge)', network: 'brokennet', rolledBack: true },
  { name: 'berthd refuses the task', berthd: 'refuse', rolledBack: true },
  { name: 'no cluster but the container asked for secrets', berthd: 'not-in-cluster', secrets: true, rolledBack: true },
  // Berth's plugins run inside the hook: their failpoints kill the hook in the middle of ADD.
  { name: 'berth-bridge SIGKILLed after creating the veth', failpoints: 'bridge-after-veth', rolledBack: false },
  { name: 'berth-ipam SIGKILLed after reserving', failpoints: 'ipam-after-reserve', rolledBack: false },
  { name: 'berth-portmap SIGKILLed after its NAT rules', failpoints: 'portmap-after-nat', rolledBack: false, ports: true },
  { name: 'hook SIGKILLed after pinning the netns', failpoints: 'hook-after-pin', rolledBack: false },
  { name: 'hook SIGKILLed after CNI ADD', failpoints: 'hook-after-cni-add', rolledBack: false },
  { name: 'hook SIGKILLed after registering the task', failpoints: 'hook-after-task', rolledBack: false },
  { name: 'hook SIGKILLed just before createRuntime completes', failpoints: 'hook-before-record-done', rolledBack: false },
  { name: 'hook SIGKILLed after binding the secrets (createContainer)', failpoints: 'hook-after-secrets-bind', rolledBack: false },
  {
    name: 'hook SIGKILLed after registering the task, and runc\'s poststop SIGKILLed after DEL: gc finishes',
    failpoints: 'hook-after-task,hook-poststop-after-del', rolledBack: false, leftForGc: true,
  },
];

t.test('a failing hook never leaves a half-created container under runc', async (t) => {
  const lab = await createHooksLab(t, 'hfail');
  await lab.createNetwork(network, '10.89.62.0/24');
  const broken = { cniVersion: '1.0.0', name: 'brokennet', plugins: [
    { type: 'berth-bridge', bridge: 'btbroken0', isGateway: true, ipam: { type: 'berth-ipam', ranges: [[{ subnet: '10.89.63.0/24' }]] } },
    { type: 'berth-no-such-plugin' },
  ] };
  writeFileSync(join(lab.env['BERTH_CNI_CONF_DIR'] ?? '', 'brokennet.conflist'), JSON.stringify(broken));
  lab.berthd.secrets.set('token', 'not-a-real-secret');
  let index = 0;
  for (const item of cases) {
    index += 1;
    await t.test(item.name, async (t) => {
      const id = `bt-hfail-${index}`;
      lab.berthd.mode = item.berthd ?? 'deliver';
      const annotations: Record<string, string> = { 'berth.network': item.network ?? network, 'berth.service': 'web' };
      if (item.secrets === true || item.failpoints === 'hook-after-secrets-bind') annotations['berth.secrets'] = JSON.stringify(['token']);
      if (item.ports === true) annotations['berth.ports'] = JSON.stringify([{ hostPort: 18100 + index, containerPort: 80 }]);
      const bundle = lab.bundle(id, { args: ['sh', '-c', 'exit 0', id], annotations, hookEnv: item.failpoints === undefined ? {} : { BERTH_FAILPOINTS: item.failpoints } });
      const run = await lab.runc(['run', '--bundle', bundle, id]);
      t.not(run.code, 0, 'the container does not start');
      t.match(run.stderr, item.failpoints !== undefined ? /signal: killed/ : /berth-hook createRuntime: \S.*/, `runc reports the hook's reason: ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
      const afterRun = await lab.leftovers(id, item.network ?? network);
      if (item.rolledBack) t.same(afterRun, [], 'the failed stage rolled back everything itself');
      else if (item.leftForGc === true) t.not(afterRun.length, 0, `left for gc after runc run: ${afterRun.join('; ')}`);
      else t.comment(`left after runc run (runc ran poststop): ${afterRun.join('; ') || 'nothing'}`);
      await lab.runc(['delete', '--force', id]);
      const gc = await lab.exec([join(runtimeBinDir, 'berth-hook'), 'gc']);
      t.equal(gc.code, 0, `berth-hook gc: ${gc.stderr.trim()}`);
      t.same(await lab.leftovers(id, item.network ?? network), [], 'after delete and gc: nothing left');
    });
  }
  const veths = await settledVeths(lab.host);
  t.equal(veths.trim(), '', 'no veth at all in the host netns');
});

t.test('the same failures under berth run: start refused with one line (125), nothing left, no berth-hook gc needed', async (t) => {
  const lab = await createHooksLab(t, 'hbfail');
  await lab.createNetwork(network, '10.89.73.0/24');
  writeFileSync(join(lab.env['BERTH_CNI_CONF_DIR'] ?? '', 'brokennet.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'brokennet', plugins: [
    { type: 'berth-bridge', bridge: 'btbroken1', isGateway: true, ipam: { type: 'berth-ipam', ranges: [[{ subnet: '10.89.74.0/24' }]] } },
    { type: 'berth-no-such-plugin' },
  ] }));
  // --secret needs issue 11's grant route: the cases that ask for secrets run under runc only (above).
  for (const item of cases.filter((entry) => entry.secrets !== true && entry.failpoints !== 'hook-after-secrets-bind')) {
    await t.test(item.name, async (t) => {
      lab.berthd.mode = item.berthd ?? 'deliver';
      const flags = ['--service', 'web', '--network', item.network ?? network, ...(item.ports === true ? ['-p', '18200:80'] : [])];
      const run = await lab.berth(['run', '--rm', '--name', 'broken', ...flags, lab.rootfs, 'true'], item.failpoints === undefined ? {} : { BERTH_FAILPOINTS: item.failpoints });
      t.equal(run.code, 125, 'berth run exits 125');
      t.match(run.stderr, /^berth: cannot start container broken: .+\n$/, `one line: ${run.stderr.trim()}`);
      t.same(await anyLeftovers(lab, item.network ?? network), [], 'nothing left');
    });
  }
});

t.test('what a runtime left without running poststop is finished by the next berth run', async (t) => {
  const lab = await createHooksLab(t, 'hgc');
  await lab.createNetwork(network, '10.89.78.0/24');
  const id = 'bt-hgc-1';
  const bundle = lab.bundle(id, { args: ['true', id], annotations: { 'berth.network': network, 'berth.service': 'web' }, hookEnv: { BERTH_FAILPOINTS: 'hook-after-task,hook-poststop-after-del' } });
  t.not((await lab.runc(['run', '--bundle', bundle, id])).code, 0, 'the container did not start');
  await lab.runc(['delete', '--force', id]);
  t.not((await lab.leftovers(id, network)).length, 0, 'its hooks left something (the killed poststop)');
  const next = await lab.berth(['run', '--rm', lab.rootfs, 'sh', '-c', 'exit 0']);
  t.equal(next.code, 0, `the next berth run: ${next.stderr.trim()}`);
  t.same(await lab.leftovers(id, network), [], 'finished it first: nothing left');
});
