import { lchown, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxRootfs } from '../rootfs.js';
import { check, checkEqual, type Scenario } from '../scenario.js';
import { runSleeper } from './lifecycle.js';

const hostIdBase = 100_000;

/** chown -hR: the rootfs belongs to the container's root, host uid/gid 100000. */
async function chownTree(path: string, id: number): Promise<void> {
  await lchown(path, id, id);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await chownTree(join(path, entry.name), id);
    else await lchown(join(path, entry.name), id, id);
  }
}

export const userNamespaceScenarios: readonly Scenario[] = [
  {
    name: 'user namespace: root inside is uid 100000 outside',
    async run(context) {
      const rootfs = await buildBusyboxRootfs(join(context.dir, 'sleeper', 'rootfs'));
      await chownTree(rootfs, hostIdBase);
      const id = await runSleeper(context, (config) => {
        config.root = { path: 'rootfs', readonly: false };
        (config.linux['namespaces'] as unknown[]).push({ type: 'user' });
        config.linux['uidMappings'] = [{ containerID: 0, hostID: hostIdBase, size: 65536 }];
        config.linux['gidMappings'] = [{ containerID: 0, hostID: hostIdBase, size: 65536 }];
      });
      const pid = (JSON.parse((await context.runtime.run(['state', id])).stdout) as { pid: number }).pid;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      check(new RegExp(`^Uid:\\s+${hostIdBase}\\s`, 'm').test(status), `the host sees uid ${hostIdBase}`);
      const inside = await context.runtime.run(['exec', id, 'sh', '-c', 'id -u; tr -s " " < /proc/self/uid_map; touch /made && stat -c %u /made; ls -ln /dev/null | tr -s " " | cut -d" " -f1,3']);
      checkEqual(inside.code, 0, `exec exit code (${inside.stderr.trim()})`);
      checkEqual(inside.stdout, `0\n 0 ${hostIdBase} 65536\n0\ncrw-rw-rw- 65534\n`, 'root inside, the map, files it makes, the host\'s /dev/null bound in');
    },
  },
];
