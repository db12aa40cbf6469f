/** `berth completion bash`: generated from the command tree, and completing in a real bash. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { commandTree } from '../../src/cli/command-tree.js';
import { bashCompletion, commandTable } from '../../src/cli/completion.js';

function visiblePaths(program: Command): Map<string, Command> {
  return new Map(commandTree(program).map(({ path, command }) => [path, command]));
}

/** What bash completes after typing `words` (the last one is the word being completed). */
function complete(script: string, queries: readonly (readonly string[])[]): string[] {
  const calls = queries.map((words) => {
    const quoted = words.map((word) => `'${word}'`).join(' ');
    return `COMP_WORDS=(berth ${quoted}); COMP_CWORD=${words.length}; COMPREPLY=(); _berth_complete; echo "\${COMPREPLY[*]}"`;
  });
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', `${script}\n${calls.join('\n')}`], { encoding: 'utf8', timeout: 30_000, cwd: '/' });
  if (result.status !== 0) throw new Error(`bash failed: ${result.stderr}`);
  return result.stdout.split('\n').slice(0, queries.length);
}

t.test('the completion table is the parser\'s command tree: every command, subcommand and option', async (t) => {
  const program = buildProgram();
  const tree = visiblePaths(program);
  const table = new Map(commandTable(program).map((entry) => [entry.path, entry]));
  t.same([...table.keys()].sort(), [...tree.keys()].sort(), 'one entry per command, hidden ones (container-monitor) left out');
  t.notOk(table.has('container-monitor'));
  t.same(table.get('')?.subcommands, ['policy', 'cluster', 'network', 'run', 'ps', 'inspect', 'logs', 'exec', 'stop', 'rm', 'hooks', 'secret', 'version', 'completion'], 'the top-level commands');
  t.same(table.get('network')?.subcommands, ['create', 'ls', 'inspect', 'rm']);
  for (const [path, command] of tree) {
    const entry = table.get(path);
    t.same(entry?.subcommands, command.commands.filter((child) => tree.has(path === '' ? child.name() : `${path} ${child.name()}`)).map((child) => child.name()), `subcommands of "berth ${path}"`);
    for (const option of command.options.filter((item) => !item.hidden)) t.ok(entry?.options.includes(option.long ?? ''), `berth ${path} ${option.long}`);
  }
});

t.test('bash completes every command and subcommand, and options', async (t) => {
  const program = buildProgram();
  const script = bashCompletion(program);
  const groups = [...visiblePaths(program)].filter(([, command]) => command.commands.length > 0);
  const queries = groups.map(([path]) => [...(path === '' ? [] : path.split(' ')), '']);
  const answers = complete(script, [...queries, ['network', 'cr'], ['network', 'create', '--o'], ['--nothing', 'secret', 'rot'], ['cluster', 'join-token', '-']]);
  groups.forEach(([path, command], index) => {
    t.same(answers[index]?.split(' '), command.commands.filter((child) => child.name() !== 'container-monitor').map((child) => child.name()), `berth ${path} <TAB>`);
  });
  t.same(answers.slice(queries.length), [
    'create',
    '--opt --output',
    'rotate',
    '--rotate --ttl -q --quiet -o --output --socket --help',
  ], 'prefixes, options after a command, words skipped before it');
});
