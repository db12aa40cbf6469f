/** `berth hooks install`: writes the hooks.d files that make podman and CRI-O run berth-hook for Berth's containers. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { hooksDFiles, hooksDirDefault } from '../../hooks/hooks-d.js';
import { hookEnvNames } from '../../hooks/oci-hooks.js';
import { formatOf, outputOption, show } from '../output.js';

export function registerHooksCommands(program: Command): void {
  const hooks = program.command('hooks').description('Berth\'s OCI hooks for podman, CRI-O and runc');
  hooks.command('install')
    .description(`write the hooks.d files (oci-hooks 1.0.0) with this installation's berth-hook path`)
    .option('--dir <dir>', 'hooks directory (podman and CRI-O read /etc/containers/oci/hooks.d and /usr/share/containers/oci/hooks.d)', hooksDirDefault)
    .option('--env <key=value>', `environment for the hook, one of ${hookEnvNames.join(', ')} (repeatable)`, (value: string, previous: string[]) => [...previous, value], [])
    .addOption(outputOption())
    .action((flags: { dir: string; env: string[]; output?: string }) => {
      const env = Object.fromEntries(flags.env.map((item) => {
        const equals = item.indexOf('=');
        const key = item.slice(0, Math.max(equals, 0));
        if (!hookEnvNames.includes(key)) throw new Error(`Cannot use --env ${JSON.stringify(item)}: expected KEY=VALUE with KEY one of ${hookEnvNames.join(', ')}`);
        return [key, item.slice(equals + 1)];
      }));
      mkdirSync(flags.dir, { recursive: true, mode: 0o755 });
      const files = Object.entries(hooksDFiles(env)).map(([name, content]) => {
        const file = join(flags.dir, name);
        writeFileSync(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o644 });
        renameSync(`${file}.tmp`, file);
        return file;
      });
      show(formatOf(flags), files, () => files.join('\n'));
    });
}
