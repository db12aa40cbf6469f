/**
 * `berth run --secret` end to end against a real berthd in a one-host cluster (its etcd member, the secrets service,
 * the task API): the grant, the file at /run/secrets (name or target, mode), a rotation seen by a running container
 * without a restart, and runs asking for a secret that does not exist, or for a grant berthd refuses, refused on one
 * line with nothing created or changed — no container, task, tmpfs, mount, and no grant made or altered.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { anyLeftovers, createClusterLab, initCluster } from '../../src/hooks/lab.js';

interface Grant { service: string; target: string; uid: number; gid: number; mode: number; nodes: string[] }

t.test('berth run --secret with a one-host cluster: the value in /run/secrets, rotated live, an unknown secret refused', async (t) => {
  const lab = await createClusterLab(t, 'hrsec');
  await initCluster(lab);
  const valueFile = (label: string): { value: string; file: string } => {
    const value = `${label}-${randomBytes(12).toString('hex')}`;
    const file = join(lab.dir, `${label}.value`);
    writeFileSync(file, value, { mode: 0o600 });
    return { value, file };
  };
  const first = valueFile('first');
  const created = await lab.berth(['secret', 'create', 'api.token', first.file]);
  t.equal(created.code, 0, `berth secret create: ${created.stderr.trim()}`);

  const read = await lab.berth(['run', '--rm', '--service', 'api', '--secret', 'api.token', lab.rootfs, 'busybox', 'cat', '/run/secrets/api.token']);
  t.same([read.code, read.stdout, read.stderr], [0, first.value, ''], 'the container reads the value at /run/secrets/NAME');
  const targeted = await lab.berth(['run', '--rm', '--service', 'api', '--secret', 'api.token,target=token,mode=0440', lab.rootfs,
    'sh', '-c', 'busybox stat -L -c %a /run/secrets/token; busybox cat /run/secrets/token']);
  t.same([targeted.code, targeted.stdout], [0, `440\n${first.value}`], `target= and mode= shape the file ${targeted.stderr.trim()}`);

  const started = await lab.berth(['run', '-d', '--name', 'db', '--service', 'db', '--secret', 'api.token', lab.rootfs, 'sh', '-c', 'exec sleep 300']);
  t.equal(started.code, 0, `berth run -d db: ${started.stderr.trim()}`);
  const inDb = async (command: string): Promise<string> => (await lab.berth(['exec', 'db', 'busybox', 'sh', '-c', command])).stdout;
  const startTime = await inDb('busybox cut -d" " -f22 /proc/1/stat');
  t.equal(await inDb('busybox cat /run/secrets/api.token'), first.value, 'the detached container has the value');
  const second = valueFile('second');
  const rotated = await lab.berth(['secret', 'rotate', 'api.token', second.file]);
  t.equal(rotated.code, 0, `berth secret rotate: ${rotated.stderr.trim()}`);
  let seen = '';
  for (let attempt = 0; attempt < 50 && seen !== second.value; attempt += 1) {
    seen = await inDb('busybox cat /run/secrets/api.token');
    if (seen !== second.value) await sleep(100);
  }
  t.equal(seen, second.value, 'the running container reads the rotated value');
  t.equal(await inDb('busybox cut -d" " -f22 /proc/1/stat'), startTime, 'without a restart: the same process 1');
  t.equal((await lab.berth(['rm', '-f', 'db'])).code, 0, 'berth rm -f db');

  const key = valueFile('key');
  t.equal((await lab.berth(['secret', 'create', 'api.key', key.file])).code, 0, 'berth secret create api.key');
  const grants = (): Promise<Grant[][]> => Promise.all(['api.token', 'api.key'].map(async (name) => (await lab.berthd.cliJson<{ grants: Grant[] }>(['secret', 'inspect', name])).grants
    .map(({ service, target, uid, gid, mode, nodes }) => ({ service, target, uid, gid, mode, nodes }))));
  const grantsBefore = await grants();
  const refusals: [string[], RegExp][] = [
    [['--service', 'web', '--secret', 'nosuch'], /^berth: Cannot grant secret nosuch to service web: Secret nosuch not found\n$/],
    [['--service', 'web', '--secret', 'api.token', '--secret', 'nosuch'], /^berth: Cannot grant secret nosuch to service web: Secret nosuch not found\n$/],
    // berthd refuses a group-writable file after api.token's grant was made: that grant is taken back (web had none)
    // or put back as it was (db had api.token at its own name).
    [['--service', 'web', '--secret', 'api.token', '--secret', 'api.key,mode=0620'], /^berth: Cannot grant secret api\.key to service web: Invalid mode 0620: .+\n$/],
    [['--service', 'db', '--secret', 'api.token,target=other', '--secret', 'api.key,mode=0620'], /^berth: Cannot grant secret api\.key to service db: Invalid mode 0620: .+\n$/],
  ];
  for (const [flags, reason] of refusals) {
    const refused = await lab.berth(['run', '--name', 'refused', ...flags, '--network', 'none', lab.rootfs, 'true']);
    t.same([refused.code, refused.stdout], [1, ''], `${flags.join(' ')}: exit 1`);
    t.match(refused.stderr, reason, `one line says why: ${refused.stderr.trim()}`);
  }
  t.same(await grants(), grantsBefore, 'a refused run changes no grant');
  t.same(await anyLeftovers(lab, 'none'), [], 'no container, task, tmpfs, mount or record left');
  t.same(await lab.berthd.taskIds(), [], 'berthd holds no task');
  t.same(readdirSync(join(lab.runDir, 'secrets')), [], 'no secrets directory');
});

t.test('berth run on a cluster network: the container\'s endpoint is registered in the cluster store, and leaves with it', async (t) => {
  const lab = await createClusterLab(t, 'hrep');
  await initCluster(lab);
  const network = await lab.berth(['network', 'create', 'shared', '--subnet', '10.89.71.0/24']);
  t.equal(network.code, 0, `the network is the cluster's: ${network.stdout.trim()} ${network.stderr.trim()}`);
  const started = await lab.berth(['run', '-d', '--name', 'web', '--network', 'shared', '--label', 'app=web', lab.rootfs, 'sh', '-c', 'exec sleep 300']);
  t.equal(started.code, 0, `berth run -d: ${started.stderr.trim()}`);
  const endpoints = async (): Promise<Array<{ labels: Record<string, string>; ips: string[] }>> =>
    JSON.parse((await lab.berth(['policy', 'endpoints', '--output', 'json'])).stdout) as Array<{ labels: Record<string, string>; ips: string[] }>;
  const registered = await endpoints();
  t.equal(registered.length, 1, 'berthd lists one endpoint from the store');
  t.match(registered[0], { labels: { app: 'web' }, ips: [/^10\.89\.71\./] }, 'with the container\'s labels and address');
  t.equal((await lab.berth(['rm', '-f', 'web'])).code, 0);
  t.same(await endpoints(), [], 'removing the container removes its endpoint from the store');
});
