import { readdirSync } from 'node:fs';
import { initCluster } from '../hooks/lab.js';
import type { DemoStage } from './stage.js';

/** Steps 1-2: a busybox rootfs, berthd in a test host netns with private state paths, `berth cluster init`. */
export async function runClusterAct(stage: DemoStage): Promise<void> {
  await stage.step('Build a busybox rootfs and start berthd in a test host network namespace', async () => {
    const lab = await stage.openLab();
    stage.say(`host netns ${lab.host.name}; everything else under DEMO=${lab.dir}`);
    stage.say(`rootfs $DEMO/rootfs: ${readdirSync(`${lab.rootfs}/bin`).join(', ')} (from busybox-static)`);
    for (const name of ['BERTH_ROOT', 'BERTH_RUN_DIR', 'BERTH_SOCKET', 'BERTH_CNI_CONF_DIR']) stage.say(`${name}=${stage.shorten(lab.env[name] ?? '')}`);
    const { root, socket, runDir, pid } = lab.berthd;
    stage.say(stage.shorten(`$ nsenter --net=${lab.host.path} berthd --root ${root} --socket ${socket} --run-dir ${runDir} --advertise 127.0.0.1 --lease-ttl 3 &`));
    stage.say(`berthd ready (pid ${pid ?? '?'})`);
  });
  await stage.step('Start a one-host cluster: berthd runs its etcd member and becomes the manager', async () => {
    stage.say('$ berth cluster init');
    stage.output(await initCluster(stage.lab));
    const listing = await stage.berth('cluster', 'ls');
    stage.expect(/manager/.test(listing), 'the host is the cluster\'s manager');
  });
}
