/**
 * `berth run` and friends as a user runs them, inside a test host netns, on a bridge network made with
 * `berth network create`, with runc as the runtime: output and exit status, signals, two containers talking, a
 * published port, a NetworkPolicy denying one pair, exec/logs/ps/inspect/stop, --rm and rm -f, a failed start — and
 * nothing left at the end.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { anyLeftovers, berthCli, createHooksLab, type HooksLab, settledVeths } from '../../src/hooks/lab.js';

const network = 'runnet';

interface PsEntry { id: string; name: string; state: string; addresses: string[] }

async function ps(lab: HooksLab): Promise<PsEntry[]> {
  const result = await lab.berth(['ps', '-a', '--output', 'json']);
  if (result.code !== 0) throw new Error(`berth ps: ${result.stderr}`);
  return JSON.parse(result.stdout) as PsEntry[];
}

async function waitRunning(lab: HooksLab, name: string): Promise<PsEntry> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const entry = (await ps(lab)).find((item) => item.name === name);
    if (entry?.state === 'running') return entry;
    await sleep(50);
  }
  throw new Error(`container ${name} did not start`);
}

const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
`;

t.test('berth run on a bridge network: streams, exits, talks, publishes, obeys policy, cleans up', async (t) => {
  const lab = await createHooksLab(t, 'hrun');
  await lab.createNetwork(network, '10.89.65.0/24');

  const hello = await lab.berth(['run', '--rm', '--network', network, lab.rootfs, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.equal(hello.code, 3, 'the container\'s exit status is berth run\'s');
  t.equal(hello.stdout, 'out\n', 'stdout streamed');
  t.equal(hello.stderr, 'err\n', 'stderr streamed');
  t.same(await ps(lab), [], '--rm: no container left');

  const db = await lab.berth(['run', '-d', '--name', 'db', '--network', network, '--label', 'app=db', '-p', '18090:8080', lab.rootfs,
    'sh', '-c', 'echo db-up; echo db-page > /tmp/index.html; exec busybox httpd -f -p 8080 -h /tmp']);
  t.equal(db.code, 0, `berth run -d db: ${db.stderr.trim()}`);
  t.match(db.stdout.trim(), /^[0-9a-f]{64}$/, 'prints the container id');
  const dbEntry = await waitRunning(lab, 'db');
  const dbAddress = dbEntry.addresses[0]?.split('/')[0] ?? '';
  t.match(dbAddress, /^10\.89\.65\.\d+$/, 'berth ps shows its address');
  const inspect = JSON.parse((await lab.berth(['inspect', 'db'])).stdout) as { network: string; labels: Record<string, string>; attachment: { ips: unknown[] } };
  t.same([inspect.network, inspect.labels, inspect.attachment.ips.length], [network, { app: 'db' }, 1], 'berth inspect shows settings and attachment');

  const fetchLoop = (url: string): string => `for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - ${url} && exit 0; sleep 0.3; done; exit 1`;
  const web = await lab.berth(['run', '--rm', '--network', network, '--label', 'app=web', lab.rootfs, 'sh', '-c', fetchLoop(`http://${dbAddress}:8080/index.html`)]);
  t.equal(web.stdout.trim(), 'db-page', `a second container reaches the first (${web.stderr.trim()})`);
  const published = await lab.exec(['sh', '-c', fetchLoop('http://10.89.65.1:18090/index.html')]);
  t.equal(published.stdout.trim(), 'db-page', 'the published port answers in the test host netns');

  const apply = await lab.host.exec(['/usr/bin/env', '-i', `PATH=/usr/bin:/bin`, `BERTH_ROOT=${lab.root}`, process.execPath, berthCli, 'policy', 'apply', '-f', '-'], { input: policy });
  t.equal(apply.code, 0, `berth policy apply: ${apply.stderr.trim()}`);
  const probe = (label: string) => lab.berth(['run', '--rm', '--network', network, '--label', `app=${label}`, lab.rootfs, 'sh', '-c', `ping -c 1 -W 1 ${dbAddress} >/dev/null && echo reached || echo blocked`]);
  t.equal((await probe('web')).stdout.trim(), 'reached', 'policy: web may reach db');
  t.equal((await probe('other')).stdout.trim(), 'blocked', 'policy: another app may not');

  const exec = await lab.berth(['exec', 'db', 'sh', '-c', 'busybox cat /tmp/index.html; exit 4']);
  t.same([exec.code, exec.stdout], [4, 'db-page\n'], 'berth exec runs in the container and returns its status');
  t.equal((await lab.berth(['logs', 'db'])).stdout, 'db-up\n', 'berth logs shows the detached container\'s output');
  const stopped = await lab.berth(['stop', '-t', '1', 'db']);
  t.equal(stopped.code, 0, `berth stop: ${stopped.stderr.trim()}`);
  t.match((await ps(lab)).find((item) => item.name === 'db')?.state, /^exited \(\d+\)$/, 'stopped: shown as exited with its status');
  t.same(await lab.leftovers(dbEntry.id, network), [], 'a stopped container holds no network, task or pin');
  t.equal((await lab.berth(['rm', 'db'])).code, 0, 'berth rm');

  const sleeper = await lab.berth(['run', '-d', '--name', 'sleeper', '--network', network, lab.rootfs, 'sh', '-c', 'exec sleep 300']);
  t.equal(sleeper.code, 0, `berth run -d sleeper: ${sleeper.stderr.trim()}`);
  const sleeperEntry = await waitRunning(lab, 'sleeper');
  const second = await lab.berth(['run', '-d', '--name', 'sleeper2', '--network', network, lab.rootfs, 'sh', '-c', 'exec sleep 300']);
  t.equal(second.code, 0, `berth run -d sleeper2: ${second.stderr.trim()}`);
  const secondEntry = await waitRunning(lab, 'sleeper2');
  const refused = await lab.berth(['rm', 'sleeper']);
  t.match(refused, { code: 1, stderr: /it is running/ }, 'berth rm refuses a running container');
  const removed = await lab.berth(['rm', '-f', 'sleeper', 'ghost', 'sleeper2']);
  t.equal(removed.code, 1, 'berth rm -f with one unknown name fails');
  t.match(removed.stderr, /ghost/, 'and names it');
  t.same(removed.stdout.trim().split('\n').sort(), ['sleeper', 'sleeper2'], 'the others are removed anyway (in parallel), each name printed');
  t.same(await lab.leftovers(sleeperEntry.id, network), [], 'rm -f: nothing left');
  t.same(await lab.leftovers(secondEntry.id, network), [], 'rm -f: nothing left of the second either');
  t.same(await ps(lab), [], 'no container listed');
  t.same(readdirSync(join(lab.root, 'containers')), [], 'no container directory left');
});

t.test('berth run forwards SIGTERM to the container and exits with its status', async (t) => {
  const lab = await createHooksLab(t, 'hsig');
  const env = Object.entries(lab.env).map(([key, value]) => `${key}=${value}`);
  const child = spawn('nsenter', [`--net=${lab.host.path}`, '--', '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...env,
    process.execPath, berthCli, 'run', '--rm', '--name', 'trap', lab.rootfs, 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (let attempt = 0; attempt < 200 && !out.includes('ready'); attempt++) await sleep(50);
  child.kill('SIGTERM');
  t.equal(await exited, 7, 'exit status of the container\'s trap');
  t.match(out, /got-term/, 'the container got SIGTERM');
  t.same(await ps(lab), [], '--rm: nothing listed');

  const none = await lab.berth(['run', '--rm', lab.rootfs, 'busybox', 'ip', '-o', 'link', 'show']);
  const links = none.stdout.trim().split('\n');
  t.equal(links.length, 1, 'the default network is none: one link');
  t.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/, 'loopback, up');

  const logrus = await lab.berth(['run', '--rm', lab.rootfs, 'sh', '-c', 'echo \'time="t" level=error msg="app failed"\' >&2; exit 2']);
  t.same([logrus.code, logrus.stderr], [2, 'time="t" level=error msg="app failed"\n'], 'a container\'s own error line is passed through, not taken for a start failure');

  const hostLinks = (await lab.host.execChecked(['ip', '-o', 'link', 'show'])).trim().split('\n').length;
  const host = await lab.berth(['run', '--rm', '--network', 'host', lab.rootfs, 'busybox', 'ip', '-o', 'link', 'show']);
  t.equal(host.stdout.trim().split('\n').length, hostLinks, '--network host: the host netns\'s links');

  const talker = await lab.berth(['run', '-d', '--name', 'talker', lab.rootfs, 'sh', '-c', 'echo one; sleep 1; echo two']);
  t.equal(talker.code, 0, `berth run -d talker: ${talker.stderr.trim()}`);
  const table = await lab.berth(['ps', '-a']);
  t.match(table.stdout, /^CONTAINER ID\s+NAME\s+STATUS\s+NETWORK\s+ADDRESS\s+PORTS\s+COMMAND\n[0-9a-f]{12}\s+talker\s+/, 'berth ps prints a table');
  t.equal((await lab.berth(['logs', '-f', 'talker'])).stdout, 'one\ntwo\n', 'berth logs -f follows until the container exits');
  t.match((await ps(lab)).find((item) => item.name === 'talker')?.state, /^exited \(0\)$/, 'exited 0');
  t.equal((await lab.berth(['rm', 'talker'])).code, 0);

  t.equal((await lab.berth(['run', '-d', '--name', 'tty', lab.rootfs, 'sh', '-c', 'exec sleep 300'])).code, 0, 'berth run -d tty');
  await waitRunning(lab, 'tty');
  // script(1) gives berth exec a terminal, as a user's shell would.
  const withTty = await lab.exec(['script', '-qec', `${process.execPath} ${berthCli} exec -t tty busybox tty`, '/dev/null']);
  t.match(withTty.stdout, /\/dev\/pts\/\d+/, 'berth exec -t: the command has a terminal');
  const withoutTty = await lab.berth(['exec', 'tty', 'busybox', 'tty']);
  t.same([withoutTty.code, withoutTty.stdout.trim()], [1, 'not a tty'], 'without -t it has none');
  t.equal((await lab.berth(['rm', '-f', 'tty'])).code, 0);
  t.same(await ps(lab), [], 'nothing listed');
});

t.test('berth run: a hook failure or a bad flag creates nothing', async (t) => {
  const lab = await createHooksLab(t, 'hrfail');
  await lab.createNetwork(network, '10.89.66.0/24');
  for (const failpoints of ['hook-after-cni-add', 'hook-after-task,hook-poststop-after-del']) {
    const run = await lab.berth(['run', '--name', 'broken', '--service', 'web', '--network', network, lab.rootfs, 'true'], { BERTH_FAILPOINTS: failpoints });
    t.equal(run.code, 125, `start failure is 125 (${failpoints})`);
    t.match(run.stderr, /^berth: cannot start container broken: .+\n$/, `one line says why: ${run.stderr.trim()}`);
    t.same(await ps(lab), [], 'no container record');
    t.same(readdirSync(join(lab.runDir, 'hooks')).filter((name) => !name.startsWith('.')), [], 'no hook record or lock');
    t.notOk(existsSync(join(lab.runDir, 'netns')) && readdirSync(join(lab.runDir, 'netns')).length > 0, 'no netns pin');
    t.same(lab.berthd.tasks.size, 0, 'no task');
    t.equal(await settledVeths(lab.host), '', 'no veth');
  }
  lab.berthd.mode = 'refuse';
  const refused = await lab.berth(['run', '--name', 'refused', '--service', 'web', '--network', network, lab.rootfs, 'true']);
  t.match(refused, { code: 125, stderr: /^berth: cannot start container refused: berth-hook createRuntime: berthd refused task [0-9a-f]+ of service web: Internal error; see the berthd log\n$/ },
    'a refusing berthd: the hook\'s reason, on one line');
  t.equal(await settledVeths(lab.host), '', 'no veth after the refusal');
  lab.berthd.mode = 'deliver';
  const cases: [string[], RegExp][] = [
    [['--network', 'nosuch'], /No network "nosuch"/],
    [['-p', '99999:80', '--network', network], /Cannot use -p "99999:80"/],
    [['-p', '80', '--network', network], /expected \[HOST_IP:\]HOST_PORT:CONTAINER_PORT/],
    [['-p', '8080:80', '--network', 'none'], /Cannot publish ports with --network none/],
    [['--label', 'bad key=1'], /Cannot use --label/],
    [['--secret', '../etc'], /not a secret name/],
    [['--name', '-x'], /Cannot use --name/],
  ];
  for (const [flags, expected] of cases) {
    const run = await lab.berth(['run', ...flags, lab.rootfs, 'true']);
    t.match(run, { code: 1, stderr: expected }, `refused: ${flags.join(' ')}`);
  }
  const secret = await lab.berth(['run', '--secret', 'token', '--network', 'none', lab.rootfs, 'true']);
  t.match(secret, { code: 1, stderr: /Cannot grant secret token to service \S+: This host is not in a cluster/ }, '--secret: a berthd that cannot grant refuses the run, on one line');
  t.same(await ps(lab), [], 'nothing created by any refused run');
});

t.test('berth run -d --rm: a failed start is reported with the hook\'s reason and leaves nothing', async (t) => {
  const lab = await createHooksLab(t, 'hdfail');
  lab.berthd.mode = 'refuse';
  const run = await lab.berth(['run', '-d', '--rm', '--name', 'bad', '--service', 'web', lab.rootfs, 'sh', '-c', 'exec sleep 300']);
  t.match(run, { code: 125, stderr: /^berth: cannot start container bad: berth-hook createRuntime: berthd refused task [0-9a-f]+ of service web: .+\n$/ });
  t.same(await anyLeftovers(lab, 'none'), [], 'nothing left, no container directory either');
});
