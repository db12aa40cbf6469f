import type { Command } from 'commander';

export interface CommandNode {
  /** Space-separated names from the root: '' for the program itself, 'network create', … */
  readonly path: string;
  readonly command: Command;
}

const hidden = (command: Command): boolean => (command as Command & { _hidden?: boolean })._hidden === true;

/** The program and every command under it that help lists (hidden ones left out), parents before their children. */
export function commandTree(program: Command): CommandNode[] {
  const nodes: CommandNode[] = [];
  const walk = (command: Command, path: string): void => {
    nodes.push({ path, command });
    for (const child of command.commands) if (!hidden(child)) walk(child, path === '' ? child.name() : `${path} ${child.name()}`);
  };
  walk(program, '');
  return nodes;
}

/** The commands a user can run below a command (hidden ones left out). */
export function visibleSubcommands(command: Command): Command[] {
  return command.commands.filter((child) => !hidden(child));
}
