/**
 * `berth cluster update --autolock`, `unlock`, `unlock-key`, `rotate-key`, `audit`: the cluster key (KEK) commands,
 * added to the `cluster` command group. Unlock keys are read from stdin or a file, never from argv.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { callDaemon, DaemonClientError } from '../../daemon/client.js';
import { common, requestTimeoutMs, withCommonOptions } from './cluster.js';
import { formatJson, print, progress } from '../output.js';
import { formatAudit } from './secret.js';

const unlockKeyBytesMax = 1024;

async function readUnlockKey(file: string | undefined): Promise<string> {
  if (file !== undefined && file !== '-') return (await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new DaemonClientError('USAGE', `Cannot read ${file}: ${error.code ?? error.message}`);
  })).slice(0, unlockKeyBytesMax).trim();
  if (process.stdin.isTTY) process.stderr.write('Unlock key: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > unlockKeyBytesMax || (process.stdin.isTTY && text.includes('\n'))) break;
  }
  return text.slice(0, unlockKeyBytesMax).trim();
}

export function registerClusterKeyCommands(program: Command): void {
  const cluster = program.commands.find((command) => command.name() === 'cluster');
  if (cluster === undefined) throw new Error('the cluster command group must be registered first');
  const call = (options: { output?: string; socket?: string }, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> =>
    callDaemon({ socketPath: common(options).socketPath, method, path, body, timeoutMs: requestTimeoutMs * 5 });
  const json = (options: { output?: string; socket?: string }): boolean => common(options).output === 'json';

  withCommonOptions(cluster.command('update').description('cluster settings: --autolock=true|false')
    .requiredOption('--autolock <bool>', 'keep the cluster key only sealed by an unlock key; restarted managers need `berth cluster unlock`'))
    .action(async (options: { output?: string; socket?: string; autolock: string }) => {
      if (options.autolock !== 'true' && options.autolock !== 'false') throw new DaemonClientError('USAGE', `Invalid --autolock ${JSON.stringify(options.autolock.slice(0, 20))}: expected true or false`);
      const result = await call(options, 'POST', '/v1/cluster/update', { autolock: options.autolock === 'true' }) as { autolock: boolean; unlockKey?: string };
      if (json(options)) return print(formatJson(result));
      if (!result.autolock) return print('Autolock is off: managers keep the cluster key on disk again.');
      print([
        'Autolock is on. To unlock a restarted manager, run on it `berth cluster unlock` and enter this key:', '',
        `    ${result.unlockKey ?? '(unchanged; see `berth cluster unlock-key`)'}`, '',
        'Store it safely (a password manager): without it a restarted manager serves no secret.',
      ].join('\n'));
    });

  withCommonOptions(cluster.command('unlock').description('unlock this manager with the unlock key (from stdin, or --key-file)')
    .option('--key-file <file>', 'read the unlock key from this file'))
    .action(async (options: { output?: string; socket?: string; keyFile?: string }) => {
      const result = await call(options, 'POST', '/v1/cluster/unlock', { key: await readUnlockKey(options.keyFile) });
      print(json(options) ? formatJson(result) : 'This manager is unlocked.');
    });

  withCommonOptions(cluster.command('unlock-key').description('print the unlock key, or --rotate it')
    .option('--rotate', 'make a new unlock key; the old one stops working at once').option('-q, --quiet', 'print only the key'))
    .action(async (options: { output?: string; socket?: string; rotate?: boolean; quiet?: boolean }) => {
      const result = await call(options, 'POST', '/v1/cluster/unlock-key', { rotate: options.rotate === true }) as { unlockKey: string };
      if (json(options)) return print(formatJson(result));
      print(options.quiet === true ? result.unlockKey : `${options.rotate === true ? 'New u' : 'U'}nlock key:\n\n    ${result.unlockKey}`);
    });

  withCommonOptions(cluster.command('rotate-key').description('a new cluster key; every data key is re-wrapped online (resumes an interrupted rotation)'))
    .action(async (options: { output?: string; socket?: string }) => {
      progress(common(options).output, 'Rotating the cluster key…');
      const result = await call(options, 'POST', '/v1/cluster/rotate-key', {}) as { kekId: string; previousKekId: string; resumed: boolean; rewrapped: number; batches: number };
      if (json(options)) return print(formatJson(result));
      print(`Cluster key ${result.previousKekId} replaced by ${result.kekId}${result.resumed ? ' (resumed)' : ''}: ${result.rewrapped} data keys re-wrapped in ${result.batches} transactions.`);
    });

  withCommonOptions(cluster.command('audit').description('the secrets audit log: who changed which secret or key, when'))
    .action(async (options: { output?: string; socket?: string }) => {
      const result = await call(options, 'GET', '/v1/cluster/audit');
      print(json(options) ? formatJson(result) : formatAudit(result as Parameters<typeof formatAudit>[0]));
    });
}
