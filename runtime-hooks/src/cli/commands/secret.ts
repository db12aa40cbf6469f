/**
 * `berth secret …`: encrypted, versioned secrets granted to services (served by managers; see
 * secrets/src/secrets/README.md). Values are read from FILE or stdin, never from argv, and never printed.
 */
import type { Command } from 'commander';
import { parseLabelArgument, parseModeArgument, secretBytesMax } from '@berth/secrets';
import { callDaemon, DaemonClientError } from '../../daemon/client.js';
import { common, requestTimeoutMs, withCommonOptions } from './cluster.js';
import { formatFields, formatTable, show, type OutputFormat } from '../output.js';
import { withSecretInput } from './secret-input.js';

interface Summary { name: string; labels: Record<string, string>; current: number; latest: number; versions: number; updatedAt: string }
interface AuditEntry { at: string; node: string; uid?: number; action: string; secret?: string; version?: number; service?: string; detail?: string }

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integerOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text)) throw new DaemonClientError('USAGE', `Invalid --${name} ${JSON.stringify(text.slice(0, 20))}: expected a non-negative integer`);
  return Number(text);
}

const path = (name: string, rest = ''): string => `/v1/secrets/${encodeURIComponent(name)}${rest}`;

export function formatAudit(entries: readonly AuditEntry[]): string {
  return formatTable(['WHEN', 'ACTION', 'SECRET', 'VERSION', 'SERVICE', 'NODE', 'UID', 'DETAIL'], entries.map((entry) => [
    entry.at, entry.action, entry.secret ?? '-', entry.version === undefined ? '-' : String(entry.version), entry.service ?? '-', entry.node,
    entry.uid === undefined ? '-' : String(entry.uid), entry.detail ?? '',
  ]));
}

type Options = { output?: string; socket?: string };

async function call(options: Options, method: 'GET' | 'POST' | 'DELETE', target: string, body?: unknown): Promise<{ format: OutputFormat; result: unknown }> {
  const o = common(options);
  return { format: o.output, result: await callDaemon({ socketPath: o.socketPath, method, path: target, body, timeoutMs: requestTimeoutMs }) };
}

export function registerSecretCommands(program: Command): void {
  const secret = program.command('secret').description('encrypted, versioned secrets for services: create, rotate, grant, revoke (on a manager)');
  registerValueCommands(secret);
  registerAccessCommands(secret);
}

/** create, ls, inspect, rm, rotate, rollback: the secret and its versions. */
function registerValueCommands(secret: Command): void {

  withCommonOptions(secret.command('create').description('create a secret from FILE or - (stdin), at most 500 KiB')
    .argument('<name>', 'secret name: 1-64 of [a-zA-Z0-9_.-]').argument('<file>', 'file with the value, or - for stdin')
    .option('-l, --label <key=value>', 'label (repeatable)', collect, []))
    .action(async (name: string, file: string, options: { output?: string; socket?: string; label: string[] }) => {
      const labels = Object.fromEntries(options.label.map(parseLabelArgument));
      const { format, result } = await withSecretInput(file, secretBytesMax, (value) => call(options, 'POST', '/v1/secrets', { name, value, labels }));
      show(format, result, () => `Secret ${name} created (version 1).`);
    });

  withCommonOptions(secret.command('ls').description('list secrets (names, versions; never values)'))
    .action(async (options: { output?: string; socket?: string }) => {
      const { format, result } = await call(options, 'GET', '/v1/secrets');
      show(format, result, () => formatTable(['NAME', 'CURRENT', 'LATEST', 'VERSIONS', 'UPDATED', 'LABELS'], (result as Summary[]).map((s) => [
        s.name, String(s.current), String(s.latest), String(s.versions), s.updatedAt, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(','),
      ])));
    });

  withCommonOptions(secret.command('inspect').description('metadata, versions and grants of a secret (never its value)').argument('<name>'), 'json')
    .action(async (name: string, options: { output?: string; socket?: string }) => {
      const { format, result } = await call(options, 'GET', path(name));
      show(format, result, () => formatFields(result));
    });

  withCommonOptions(secret.command('rm').description('remove a secret and all its versions').argument('<name>')
    .option('--force', 'remove even while running containers of a granted service receive it'))
    .action(async (name: string, options: { output?: string; socket?: string; force?: boolean }) => {
      const { format, result } = await call(options, 'DELETE', `${path(name)}?force=${options.force === true}`);
      show(format, result, () => `Secret ${name} removed.`);
    });

  withCommonOptions(secret.command('rotate').description('a new version from FILE or -; running containers get it within a second')
    .argument('<name>').argument('<file>', 'file with the new value, or - for stdin'))
    .action(async (name: string, file: string, options: { output?: string; socket?: string }) => {
      const { format, result } = await withSecretInput(file, secretBytesMax, (value) => call(options, 'POST', path(name, '/rotate'), { value }));
      show(format, result, () => `Secret ${name} rotated to version ${(result as { version: number }).version}.`);
    });

  withCommonOptions(secret.command('rollback').description('make an earlier version current again (default: the one before)')
    .argument('<name>').option('--to <version>', 'version to roll back to'))
    .action(async (name: string, options: { output?: string; socket?: string; to?: string }) => {
      const to = integerOption('to', options.to);
      const { format, result } = await call(options, 'POST', path(name, '/rollback'), to === undefined ? {} : { to });
      const r = result as { version: number; from: number };
      show(format, result, () => `Secret ${name} rolled back from version ${r.from} to ${r.version}.`);
    });

}

/** grant, revoke, history: who gets the secret, and who changed it. */
function registerAccessCommands(secret: Command): void {
  withCommonOptions(secret.command('grant').description('give a service\'s containers the secret as a file in /run/secrets')
    .argument('<name>').argument('<service>')
    .option('--target <file>', 'file name in the container (default: the secret name)')
    .option('--uid <n>', 'file owner (default 0)').option('--gid <n>', 'file group (default 0)')
    .option('--mode <octal>', 'file mode (default 0400)')
    .option('--node <node>', 'only on this node id or hostname (repeatable)', collect, []))
    .action(async (name: string, service: string, options: { output?: string; socket?: string; target?: string; uid?: string; gid?: string; mode?: string; node: string[] }) => {
      const body = {
        service, ...(options.target === undefined ? {} : { target: options.target }), ...(options.node.length === 0 ? {} : { nodes: options.node }),
        ...(options.uid === undefined ? {} : { uid: integerOption('uid', options.uid) }), ...(options.gid === undefined ? {} : { gid: integerOption('gid', options.gid) }),
        ...(options.mode === undefined ? {} : { mode: parseModeArgument(options.mode) }),
      };
      const { format, result } = await call(options, 'POST', path(name, '/grants'), body);
      show(format, result, () => `Secret ${name} granted to service ${service}.`);
    });

  withCommonOptions(secret.command('revoke').description('take the secret away from a service (its files disappear at once)').argument('<name>').argument('<service>'))
    .action(async (name: string, service: string, options: { output?: string; socket?: string }) => {
      const { format, result } = await call(options, 'DELETE', path(name, `/grants/${encodeURIComponent(service)}`));
      show(format, result, () => `Secret ${name} revoked from service ${service}.`);
    });

  withCommonOptions(secret.command('history').description('who changed the secret, when, which version (never values)').argument('<name>'))
    .action(async (name: string, options: { output?: string; socket?: string }) => {
      const { format, result } = await call(options, 'GET', path(name, '/history'));
      show(format, result, () => formatAudit(result as AuditEntry[]));
    });
}
