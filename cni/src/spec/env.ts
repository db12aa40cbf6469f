import { CniCode, CniError } from '../errors.js';
import { validateContainerId, validateInterfaceName } from './names.js';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The process environment as the skeleton sees it (injectable for tests). */
export type CniEnvironment = Readonly<Record<string, string | undefined>>;

/** The protocol parameters of one invocation (spec §2 "Parameters"). Absent optional values are "". */
export interface CniParameters {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS as written. */
  readonly argsText: string;
  /** CNI_ARGS as key/value pairs, in order. */
  readonly args: ReadonlyMap<string, string>;
  /** CNI_PATH split on ":", empty entries dropped. */
  readonly path: readonly string[];
}

type Need = 'required' | 'optional' | 'unused';

/** Which verbs need which variables: the spec's per-operation "Required/Optional environment parameters". */
const requirements: Readonly<Record<string, Readonly<Record<CniCommand, Need>>>> = {
  CNI_CONTAINERID: { ADD: 'required', DEL: 'required', CHECK: 'required', VERSION: 'unused', STATUS: 'unused', GC: 'unused' },
  CNI_NETNS: { ADD: 'required', DEL: 'optional', CHECK: 'required', VERSION: 'unused', STATUS: 'unused', GC: 'unused' },
  CNI_IFNAME: { ADD: 'required', DEL: 'required', CHECK: 'required', VERSION: 'unused', STATUS: 'unused', GC: 'unused' },
  CNI_ARGS: { ADD: 'optional', DEL: 'optional', CHECK: 'optional', VERSION: 'unused', STATUS: 'unused', GC: 'unused' },
  CNI_PATH: { ADD: 'optional', DEL: 'optional', CHECK: 'optional', VERSION: 'unused', STATUS: 'optional', GC: 'required' },
};

export function isCniCommand(value: string): value is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(value);
}

/** The command alone: VERSION needs nothing else, and the error format needs to know it early. */
export function readCommand(env: CniEnvironment): CniCommand {
  const command = env['CNI_COMMAND'] ?? '';
  if (command === '') throw new CniError(CniCode.InvalidEnvironment, 'Required environment variable CNI_COMMAND is missing');
  if (!isCniCommand(command)) {
    throw new CniError(CniCode.InvalidEnvironment, `Invalid CNI_COMMAND "${command}": expected one of ${CNI_COMMANDS.join(', ')}`);
  }
  return command;
}

/** CNI_ARGS: "K=V;K2=V2". Empty segments are skipped; a segment without "=" or with an empty key is an error. */
export function parseCniArgs(text: string): ReadonlyMap<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CniError(CniCode.InvalidEnvironment, `Invalid CNI_ARGS: "${pair}" is not KEY=VALUE`);
    args.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  return args;
}

/** Reads and validates every CNI_* variable the command uses; values a command does not use are ignored. */
export function readCniParameters(env: CniEnvironment): CniParameters {
  const command = readCommand(env);
  const value = (name: string): string => (requirements[name]?.[command] === 'unused' ? '' : env[name] ?? '');
  const missing = Object.keys(requirements).filter((name) => requirements[name]?.[command] === 'required' && value(name) === '');
  if (missing.length > 0) {
    throw new CniError(CniCode.InvalidEnvironment, `Required environment variables missing for ${command}: ${missing.join(', ')}`);
  }
  const containerId = value('CNI_CONTAINERID');
  const ifName = value('CNI_IFNAME');
  if (containerId !== '') validateContainerId(containerId);
  if (ifName !== '') validateInterfaceName(ifName);
  const argsText = value('CNI_ARGS');
  return {
    command,
    containerId,
    netns: value('CNI_NETNS'),
    ifName,
    argsText,
    args: parseCniArgs(argsText),
    path: value('CNI_PATH').split(':').filter((entry) => entry !== ''),
  };
}
