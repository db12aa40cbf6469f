/** The whole `berth` command tree, walked: every command takes -o json, -o means --output alone, every command has examples. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { commandTree } from '../../src/cli/command-tree.js';
import { examples } from '../../src/cli/examples.js';
import { exitCodes, runProgram } from '../../src/cli/program.js';

const berth = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

/** Commands whose stdout is not a result: the container's own output (run, exec, logs) or a shell script (completion). */
const streamsOwnOutput = new Set(['run', 'exec', 'logs', 'completion']);

/** Every command below the root, with its path as words. */
function commandsOf(program: Command): { path: string[]; command: Command }[] {
  return commandTree(program).filter(({ path }) => path !== '').map(({ path, command }) => ({ path: path.split(' '), command }));
}

const leaves = (program: Command) => commandsOf(program).filter(({ command }) => command.commands.length === 0);

/** A command line the parser accepts: placeholder arguments and required options, then `extra`. */
function argvFor(path: string[], command: Command, extra: string[]): string[] {
  const required = command.options.filter((option) => option.mandatory).flatMap((option) => [option.long ?? '', 'x']);
  const args = command.registeredArguments.filter((argument) => argument.required).map((argument) => argument.argChoices?.[0] ?? 'x');
  return [...path, ...required, ...extra, ...args];
}

/** The executable as a user runs it (a clean environment: tap's loaders in NODE_OPTIONS would slow every start). */
function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [berth, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BERTH_SOCKET: '/nonexistent/berthd.sock' } });
}

t.test('every command that prints a result takes -o json and --output json', async (t) => {
  const program = buildProgram();
  const all = leaves(program);
  t.ok(all.length >= 40, `walked ${all.length} commands`);
  for (const { path, command } of all) {
    if (streamsOwnOutput.has(path.join(' '))) continue;
    for (const flag of ['-o', '--output']) {
      let seen: unknown;
      command.action(function (this: Command) {
        seen = this.opts()['output'];
      });
      await program.parseAsync(argvFor(path, command, [flag, 'json']), { from: 'user' });
      t.equal(seen, 'json', `berth ${path.join(' ')} ${flag} json`);
    }
  }
});

t.test('-o means --output everywhere, with the same choices; no option is -O or takes -o another way', async (t) => {
  for (const { path, command } of commandsOf(buildProgram())) {
    for (const option of command.options) {
      if (option.short === '-o' || option.long === '--output') {
        t.same([option.short, option.long, option.argChoices], ['-o', '--output', ['table', 'json']], `berth ${path.join(' ')}: ${option.flags}`);
      }
    }
  }
  const create = commandsOf(buildProgram()).find(({ path }) => path.join(' ') === 'network create')?.command;
  t.same(create?.options.find((option) => option.long === '--opt')?.short, undefined, 'the driver option is --opt only');
});

t.test('every command has --help examples, and every example names a command that exists', async (t) => {
  const paths = new Set(['', ...commandsOf(buildProgram()).map(({ path }) => path.join(' '))]);
  for (const path of paths) t.ok((examples[path]?.length ?? 0) > 0, `examples for "berth ${path}"`);
  for (const path of Object.keys(examples)) t.ok(paths.has(path), `"${path}" is a command`);
});

/** Runs the real program in this process, its output captured. */
async function parse(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = buildProgram();
  const captured = { stdout: '', stderr: '' };
  for (const command of [program, ...commandsOf(program).map(({ command }) => command)]) {
    command.configureOutput({ writeOut: (text) => { captured.stdout += text; }, writeErr: (text) => { captured.stderr += text; } });
  }
  return { code: await runProgram(program, args), ...captured };
}

t.test('usage errors exit 2 with a one-line message, as `berth --help` documents', async (t) => {
  const usage: [string[], RegExp][] = [
    [['no-such-command'], /^berth: unknown command 'no-such-command'\n\(add --help for the usage and examples\)\n$/],
    [['network', 'ls', '--bogus'], /^berth: unknown option '--bogus'/],
    [['network', 'ls', '-o', 'yaml'], /^berth: option '-o, --output <format>' argument 'yaml' is invalid\. Allowed choices are table, json\./],
    [['network', 'create', 'x', '-o', 'mtu=1400'], /argument 'mtu=1400' is invalid/],
    [['network', 'create'], /^berth: missing required argument 'name'/],
    [['network'], /Usage: berth network/],
    [['completion', 'zsh'], /value 'zsh' is invalid for argument 'shell'\. Allowed choices are bash/],
  ];
  for (const [args, message] of usage) {
    const result = await parse(args);
    t.equal(result.code, exitCodes.usage, `berth ${args.join(' ')}: usage error`);
    t.match(result.stderr, message);
  }
  const help = await parse(['network', 'create', '--help']);
  t.equal(help.code, exitCodes.ok, '--help succeeds');
  t.match(help.stdout, /Examples:\n {2}berth network create web --subnet/, 'a subcommand\'s help ends with its examples');
  t.equal((await parse(['--version'])).code, exitCodes.ok);
});

t.test('the real executables: berth --help lists the exit codes; errors exit 1; the container commands\' bundle agrees', async (t) => {
  const help = run(['--help']);
  t.equal(help.status, exitCodes.ok);
  t.match(help.stdout, /Exit codes:\n\s+0\s+success\n\s+1\s+the command failed[^\n]*\n\s+2\s+usage error[^\n]*\n\s+125\s+berth run/);
  const failed = run(['secret', 'ls']);
  t.equal(failed.status, exitCodes.error, 'a command that fails (no berthd) exits 1');
  t.match(failed.stderr, /^berth: .*\/nonexistent\/berthd\.sock/, 'with one line saying why');
  const ps = run(['ps', '--bogus']);
  t.equal(ps.status, exitCodes.usage, 'berth ps runs from its own bundle, with the same codes');
  t.match(ps.stderr, /^berth: unknown option '--bogus'/);
});
