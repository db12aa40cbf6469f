/**
 * `berth completion bash`: a bash completion script generated from the command tree the parser uses, so a command
 * or option added anywhere is completed without touching this file.
 */
import { Argument, type Command } from 'commander';
import { commandTree, visibleSubcommands } from './command-tree.js';
import { print } from './output.js';

export interface CommandEntry {
  /** Space-separated names from the root: '' for `berth` itself, 'network create', … */
  readonly path: string;
  readonly subcommands: readonly string[];
  readonly options: readonly string[];
}

/** Every command of the tree (hidden ones left out), parents before their children. */
export function commandTable(program: Command): CommandEntry[] {
  return commandTree(program).map(({ path, command }) => ({
    path,
    subcommands: visibleSubcommands(command).map((child) => child.name()),
    options: [...command.options.filter((option) => !option.hidden).flatMap((option) => [option.short, option.long]), '--help']
      .filter((flag): flag is string => flag !== undefined),
  }));
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * The script: two associative arrays (subcommands and options per command path, keyed by the full command line, as
 * bash refuses an empty key) and a function that walks the words typed so far.
 */
export function bashCompletion(program: Command): string {
  const table = commandTable(program);
  const name = program.name();
  const key = (path: string): string => quote(path === '' ? name : `${name} ${path}`);
  const fn = `_${name.replace(/[^a-zA-Z0-9_]/g, '_')}_complete`;
  return [
    `# bash completion for ${name}: source <(${name} completion bash)`,
    `declare -gA ${fn}_commands=(`,
    ...table.map((entry) => `  [${key(entry.path)}]=${quote(entry.subcommands.join(' '))}`),
    ')',
    `declare -gA ${fn}_options=(`,
    ...table.map((entry) => `  [${key(entry.path)}]=${quote(entry.options.join(' '))}`),
    ')',
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" path=${quote(name)} word candidate i`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    [[ "$word" == -* ]] && continue',
    '    candidate="$path $word"',
    `    [[ -n "\${${fn}_commands[$candidate]+set}" ]] && path="$candidate"`,
    '  done',
    '  if [[ "$cur" == -* ]]; then',
    `    COMPREPLY=($(compgen -W "\${${fn}_options[$path]}" -- "$cur"))`,
    '  else',
    `    COMPREPLY=($(compgen -W "\${${fn}_commands[$path]}" -- "$cur"))`,
    '    [[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))',
    '  fi',
    '}',
    `complete -F ${fn} ${name}`,
    '',
  ].join('\n');
}

export function registerCompletionCommand(program: Command): void {
  program.command('completion')
    .description('print a shell completion script (bash) generated from the command table')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash']))
    .action(() => print(bashCompletion(program)));
}
