import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execCommand } from '../harness/index.js';
import { demoNetwork } from './containers-act.js';
import type { DemoStage } from './stage.js';

const berthdStopTimeoutMs = 20_000;

/** Processes of the demo still alive: any whose command line, environment or root directory is under `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const mine = cmdline.includes(dir) || readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir) || readlinkSync(`/proc/${pid}/root`).startsWith(dir);
      if (mine) found.push(`${pid} ${cmdline.replace(/\0/g, ' ').trim().slice(0, 80)}`);
    } catch {
      // gone while we looked, or a kernel thread
    }
  }
  return found;
}

/** Stops what the demo started the way a user would: containers, network, then berthd (SIGTERM, its etcd with it). */
async function removeGracefully(stage: DemoStage): Promise<void> {
  const { berthd } = stage.lab;
  await stage.berth('rm', '-f', 'web', 'db', 'client');
  await stage.berth('network', 'rm', demoNetwork);
  stage.say(`$ kill -TERM ${berthd.pid ?? '?'}   (berthd)`);
  berthd.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([berthd.exited(), new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), berthdStopTimeoutMs); })]);
  clearTimeout(timer);
  stage.expect(stopped?.code === 0, 'berthd stops cleanly on SIGTERM, its etcd member with it');
}

/**
 * The last step, run whether the demo passed or not: graceful removal when it passed, then every teardown (the lab
 * force-deletes containers, releases hook state, kills berthd and etcd, unmounts, removes its temp dir and netns),
 * then a look for anything left: the netns, mounts, files, processes.
 */
export async function cleanUp(stage: DemoStage, graceful: boolean): Promise<void> {
  await stage.step('Clean up everything the demo made, and check that nothing is left', async () => {
    const lab = stage.hasLab ? stage.lab : undefined;
    try {
      if (graceful && lab !== undefined) await removeGracefully(stage);
    } finally {
      const failures = await stage.close();
      for (const failure of failures) stage.say(`cleanup: ${failure}`);
      if (lab !== undefined) await checkNothingLeft(stage, lab.host.name, lab.dir);
      stage.expect(failures.length === 0, 'every cleanup step ran');
    }
  }, { final: true });
}

async function checkNothingLeft(stage: DemoStage, netns: string, dir: string): Promise<void> {
  const namespaces = (await execCommand(['ip', 'netns', 'list'])).stdout;
  stage.expect(!namespaces.includes(netns), `ip netns list: no ${netns}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point.startsWith(dir));
  stage.expect(mounts.length === 0, `no mount under $DEMO${mounts.length === 0 ? '' : `: ${mounts.join(', ')}`}`);
  const processes = processesUnder(dir);
  stage.expect(processes.length === 0, `no process of the demo (berthd, etcd, monitors, containers)${processes.length === 0 ? '' : `: ${processes.join('; ')}`}`);
  stage.expect(!existsSync(dir), `$DEMO (${dir}) is gone`);
}
