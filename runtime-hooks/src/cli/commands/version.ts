/**
 * `berth version`: this CLI's version and berthd's, as `docker version` shows client and server. It fails (exit 1)
 * while berthd does not answer on its socket, so `until berth version; do sleep 0.2; done` waits for a starting one.
 */
import type { Command } from 'commander';
import { callDaemon } from '../../daemon/client.js';
import { berthVersion } from '../../version.js';
import { show } from '../output.js';
import { common, withCommonOptions } from './cluster.js';

const versionTimeoutMs = 5_000;

export function registerVersionCommand(program: Command): void {
  withCommonOptions(program.command('version').description('the versions of this CLI and of the berthd on the socket (fails while berthd does not answer)'))
    .action(async (options: { output?: unknown; socket?: unknown }) => {
      const o = common(options);
      const daemon = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/version', timeoutMs: versionTimeoutMs }) as { version: string };
      show(o.output, { client: berthVersion, berthd: daemon.version, socket: o.socketPath },
        () => `client  ${berthVersion}\nberthd  ${daemon.version} (${o.socketPath})`);
    });
}
