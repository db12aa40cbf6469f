/**
 * `berth run` in the foreground through berth's native front end (runtime-hooks/bin/berth), served by a real berthd
 * in a one-host cluster, in a test host netns: the container's output, status and signals are the caller's as with
 * the Node CLI, its hook stages run inside berthd, a front end killed mid-run leaves nothing, what berthd does not
 * serve falls back to the Node CLI — and a local client playing the protocol badly (forged token, another process,
 * a foreign pid, a bad frame, a non-root uid) is refused with nothing created.
 */
import t from 'tap';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { anyLeftovers, createClusterLab, initCluster, runtimeBinDir, type HooksLab } from '../../src/hooks/lab.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import { settle } from '../../src/harness/index.js';

const network = 'servnet';
const berth = join(runtimeBinDir, 'berth');
/** The protocol probe as built (conformance/dist), run with node inside the test host netns. */
const probePath = fileURLToPath(new URL('../../dist/src/hooks/run-protocol-probe.js', import.meta.url));

async function probeRun(lab: HooksLab<BerthdHost>, args: readonly string[], prefix: readonly string[] = []): Promise<Record<string, string>> {
  const result = await lab.exec([...prefix, process.execPath, probePath, lab.berthd.socket, ...args]);
  return JSON.parse(result.stdout.trim() || JSON.stringify({ error: result.stderr })) as Record<string, string>;
}

/** Polls until nothing of any container is left (a released container's DEL runs after the front end is gone). */
function settledLeftovers(lab: HooksLab<BerthdHost>): Promise<string[]> {
  return settle(() => anyLeftovers(lab, network), (found) => found.length === 0, 20_000, 100);
}

/** A shell line that starts berth run in the background with its output in FILE, waits for "ready", then signals it. */
function signalScript(file: string, signal: string, command: string): string {
  return `${berth} run --rm --network ${network} ${command} > ${file} 2>&1 & pid=$!
for i in $(seq 1 200); do grep -q ready ${file} 2>/dev/null && break; sleep 0.05; done
kill -${signal} $pid; wait $pid; echo "status=$?"; cat ${file}`;
}

t.test('berth run served by berthd', async (t) => {
  const lab = await createClusterLab(t, 'srun');
  await initCluster(lab);
  await lab.createNetwork(network, '10.89.74.0/24');
  const berthdPid = lab.berthd.pid ?? 0;
  const hookLog = join(lab.root, 'logs', 'hook.log');

  await t.test('output, exit status and network as with the Node CLI; the hook stages ran inside berthd', async (t) => {
    const result = await lab.exec([berth, 'run', '--rm', '--network', network, lab.rootfs, 'sh', '-c',
      'echo out; echo err >&2; ip -o -4 addr show eth0 | grep -o "inet [0-9.]*"; exit 3']);
    t.equal(result.code, 3, 'the container\'s exit status is berth\'s');
    t.match(result.stdout, /^out\ninet 10\.89\.74\.\d+\n$/, 'stdout streamed, with the address on the network');
    t.equal(result.stderr, 'err\n', 'stderr streamed');
    const attached = readFileSync(hookLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { msg?: string; pid?: number })
      .filter((entry) => entry.msg === 'attached').at(-1);
    t.equal(attached?.pid, berthdPid, 'the createRuntime stage logged from berthd\'s process');
    const relative = await lab.exec(['sh', '-c', `cd ${dirname(lab.rootfs)} && ${berth} run --rm ./${basename(lab.rootfs)} sh -c 'exit 5'`]);
    t.equal(relative.code, 5, `a relative rootfs is the caller's (${relative.stderr.trim()})`);
    t.same(await settledLeftovers(lab), [], 'nothing left');
  });

  await t.test('a secret granted through the cluster is at /run/secrets in a served run', async (t) => {
    const valueFile = join(lab.dir, 'served-secret.value');
    writeFileSync(valueFile, 'served-value', { mode: 0o600 });
    const created = await lab.berth(['secret', 'create', 'served-token', valueFile]);
    t.equal(created.code, 0, `berth secret create: ${created.stderr.trim()}`);
    const result = await lab.exec([berth, 'run', '--rm', '--network', network, '--service', 'served', '--secret', 'served-token', lab.rootfs,
      'sh', '-c', 'cat /run/secrets/served-token']);
    t.same([result.code, result.stdout], [0, 'served-value'], `the container read it (${result.stderr.trim()})`);
    const refused = await lab.exec([berth, 'run', '--rm', '--service', 'served', '--secret', 'no-such-secret', lab.rootfs, 'sh', '-c', 'exit 0']);
    t.not(refused.code, 0, 'a secret that does not exist: the run fails');
    t.match(refused.stderr, /no-such-secret/, `with a line naming it (${refused.stderr.trim()})`);
    t.same(await settledLeftovers(lab), [], 'nothing left');
  });

  await t.test('signals sent to berth reach the container', async (t) => {
    const result = await lab.exec(['sh', '-c', signalScript(join(lab.dir, 'term.out'), 'TERM', `${lab.rootfs} sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'`)]);
    t.match(result.stdout, /status=7\n/, 'the container\'s status after its trap');
    t.match(result.stdout, /got-term/, 'the trap ran in the container');
    t.same(await settledLeftovers(lab), [], 'nothing left');
  });

  await t.test('berth SIGKILLed while its container runs: the container is killed and released', async (t) => {
    const result = await lab.exec(['sh', '-c', signalScript(join(lab.dir, 'kill.out'), 'KILL', `${lab.rootfs} sh -c 'echo ready; sleep 30'`)]);
    t.match(result.stdout, /status=137\n/, 'berth died of SIGKILL');
    t.same(await settledLeftovers(lab), [], 'no container, netns, link, address, rule or record left');
  });

  await t.test('what berthd does not serve runs in the Node CLI', async (t) => {
    const usage = await lab.exec([berth, 'run', '--bogus', lab.rootfs, 'sh']);
    t.same([usage.code, usage.stderr.split('\n')[0]], [2, 'berth: unknown option \'--bogus\''], 'a usage error: the CLI says what is wrong');
    const missing = await lab.exec([berth, 'run', '--rm', '--network', 'nosuch', lab.rootfs, 'sh']);
    t.equal(missing.code, 1, 'an unknown network: exit 1');
    t.match(missing.stderr, /No network "nosuch"/, 'with the reason');
    const noBerthd = await lab.exec([berth, 'run', '--rm', lab.rootfs, 'sh', '-c', 'exit 4'], { BERTH_SOCKET: join(lab.dir, 'absent.sock') });
    t.equal(noBerthd.code, 4, 'no berthd on the socket: the Node CLI runs it');
    const detached = await lab.exec([berth, 'run', '-d', '--name', 'bg', '--network', network, lab.rootfs, 'sh', '-c', 'sleep 30']);
    t.equal(detached.code, 0, `-d runs in the Node CLI: ${detached.stderr.trim()}`);
    t.equal((await lab.exec([berth, 'rm', '-f', 'bg'])).code, 0, 'berth rm -f (other commands exec the Node CLI)');
    t.same(await settledLeftovers(lab), [], 'nothing left');
  });

  await t.test('a local client playing the protocol badly is refused and nothing is created', async (t) => {
    t.match((await probeRun(lab, ['forged-token'])).status, /^HTTP\/1\.1 404 /, 'a token berthd never gave: 404');
    t.match((await probeRun(lab, ['other-process', lab.rootfs])).otherProcess, /^HTTP\/1\.1 403 /, 'another process attaching to a run: 403');
    const foreign = await probeRun(lab, ['foreign-helper', lab.rootfs]);
    t.match(foreign.answer, /^done 125 \d+\nberth: cannot start container [^\n]*not its child/, 'a pid that is not its child reported as berth-init: the start fails');
    const badFrame = await probeRun(lab, ['bad-frame']);
    t.same([badFrame.status?.split(' ')[1], badFrame.answer], ['101', ''], 'a frame with PATH=…: hung up, no answer');
    t.same(await settledLeftovers(lab), [], 'nothing left by any of them');
    const socketDir = dirname(lab.berthd.socket);
    const modes = [statSync(socketDir).mode & 0o777, statSync(lab.berthd.socket).mode & 0o777];
    chmodSync(socketDir, 0o755);
    chmodSync(lab.berthd.socket, 0o777);
    try {
      const nobody = await probeRun(lab, ['status'], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
      t.match(nobody.status, /^HTTP\/1\.1 503 /, 'uid 65534 on a socket opened to it: declined (berth would run the CLI as that user)');
    } finally {
      chmodSync(socketDir, modes[0] ?? 0o700);
      chmodSync(lab.berthd.socket, modes[1] ?? 0o600);
    }
  });

  await t.test('berthd holds no more descriptors after serving runs', async (t) => {
    const descriptors = (): number => readdirSync(`/proc/${berthdPid}/fd`).length;
    const runs = 10;
    const before = descriptors();
    for (let run = 0; run < runs; run += 1) t.equal((await lab.exec([berth, 'run', '--rm', '--network', network, lab.rootfs, 'sh', '-c', 'exit 0'])).code, 0, `run ${run + 1}`);
    await sleep(200);
    // A descriptor kept per run would show as 10 or more; connections still closing, as a few.
    t.ok(descriptors() < before + runs / 2, `descriptors ${before} -> ${descriptors()} after ${runs} runs`);
  });
});
