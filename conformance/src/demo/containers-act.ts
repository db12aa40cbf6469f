import type { DemoStage } from './stage.js';

export const demoNetwork = 'demo';
const subnet = '10.77.0.0/24';

export interface DemoContainers {
  /** Container name → its address on the demo network. */
  readonly addresses: ReadonlyMap<string, string>;
}

/** A page server on `port` serving `page` (busybox httpd), the container's main process. */
function server(page: string, port: number): string[] {
  return ['sh', '-c', `echo ${page} > /tmp/index.html && exec busybox httpd -f -p ${port} -h /tmp`];
}

export async function createNetwork(stage: DemoStage): Promise<void> {
  await stage.step('Create a bridge network', async () => {
    await stage.berth('network', 'create', demoNetwork, '--driver', 'bridge', '--subnet', subnet);
  });
}

/** web serves :80, db serves :5432 as service `db` with the secret, client idles; all detached on the bridge. */
export async function runContainers(stage: DemoStage, secret: string): Promise<DemoContainers> {
  const { rootfs } = stage.lab;
  await stage.step('Run web, db and client with berth run -d (db as service db, granted the secret)', async () => {
    await stage.berth('run', '-d', '--name', 'web', '--network', demoNetwork, '--label', 'app=web', rootfs, ...server('web: hello', 80));
    await stage.berth('run', '-d', '--name', 'db', '--network', demoNetwork, '--label', 'app=db', '--service', 'db', '--secret', secret,
      rootfs, ...server('db: accepting connections', 5432));
    await stage.berth('run', '-d', '--name', 'client', '--network', demoNetwork, '--label', 'app=client', rootfs, 'busybox', 'sleep', '3600');
    await stage.berth('ps');
  });
  const listed = await stage.lab.berth(['ps', '--output', 'json']);
  const views = JSON.parse(listed.stdout) as { name: string; addresses: string[] }[];
  return { addresses: new Map(views.map((view) => [view.name, view.addresses[0]?.split('/')[0] ?? ''])) };
}
