import { NftError, NftErrorCode } from './errors.js';
import type { NftCommand, NftScript } from './schema.js';

/**
 * What `Nft.run` accepts. Objects are sent as libnftables JSON: a command, an array of commands, or a whole
 * script. A string is nft's native syntax (`add table inet t`), unless it starts with `{`: then it is JSON text.
 */
export type NftInput = NftCommand | NftScript | readonly NftCommand[] | string;

export interface EncodedInput {
  /** The buffer handed to libnftables. */
  readonly text: string;
  /** Names the action for error messages, e.g. `nft transaction (add table inet t, add set inet t s)`. */
  readonly action: string;
}

const describedCommandsMax = 3;
const describedTextCharsMax = 80;

/** Turns an input into the buffer libnftables reads, validating what libnftables would misreport. */
export function encodeInput(input: NftInput): EncodedInput {
  const encoded = typeof input === 'string' ? encodeText(input) : encodeObject(input);
  if (encoded.text.includes('\0')) {
    throw new NftError(NftErrorCode.InvalidInput, `Cannot run ${encoded.action}: the input contains a NUL byte`);
  }
  return encoded;
}

function encodeText(text: string): EncodedInput {
  if (!text.trimStart().startsWith('{')) {
    return { text, action: `nft command ${JSON.stringify(abbreviate(text))}` };
  }
  // libnftables tries JSON first and silently falls back to the native parser when the JSON does not parse,
  // which then reports a confusing "syntax error, unexpected '{'": check the JSON here instead.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NftError(NftErrorCode.InvalidJson, `Cannot run nft JSON input: invalid JSON: ${reason}`, { cause: error });
  }
  return { text, action: describeDocument(parsed) };
}

function encodeObject(input: unknown): EncodedInput {
  let document: unknown;
  if (Array.isArray(input)) document = { nftables: input };
  else if (isRecord(input) && 'nftables' in input) document = input;
  else if (isRecord(input)) document = { nftables: [input] };
  else {
    throw new NftError(NftErrorCode.InvalidInput,
      `Cannot run nft input of type ${input === null ? 'null' : typeof input}: expected a command, a script or a string`);
  }
  const action = describeDocument(document);
  let text: string;
  try {
    text = JSON.stringify(document);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NftError(NftErrorCode.InvalidJson, `Cannot run ${action}: cannot encode it as JSON: ${reason}`, { cause: error });
  }
  return { text, action };
}

function describeDocument(document: unknown): string {
  const commands = isRecord(document) ? document['nftables'] : undefined;
  if (!Array.isArray(commands)) return 'nft JSON input';
  const shown = commands.slice(0, describedCommandsMax).map(describeCommand);
  const more = commands.length > describedCommandsMax ? `, and ${commands.length - describedCommandsMax} more` : '';
  return `nft transaction (${shown.join(', ')}${more})`;
}

/** `add element inet t s (3 elements)`, `delete rule inet t c handle 4`, `list ruleset`. */
function describeCommand(command: unknown): string {
  const [verb, target] = singleEntry(command);
  const [kind, value] = singleEntry(target);
  if (verb === undefined || kind === undefined) return 'malformed command';
  const words = [verb, kind];
  if (isRecord(value)) {
    for (const field of ['family', 'table', 'chain', 'name']) {
      const word = value[field];
      if (typeof word === 'string') words.push(word);
    }
    if (typeof value['handle'] === 'number') words.push(`handle ${value['handle']}`);
    if (Array.isArray(value['elem'])) words.push(`(${value['elem'].length} elements)`);
  }
  return words.join(' ');
}

function singleEntry(value: unknown): [string | undefined, unknown] {
  if (!isRecord(value)) return [undefined, undefined];
  const entries = Object.entries(value);
  const first = entries[0];
  return entries.length === 1 && first !== undefined ? first : [undefined, undefined];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function abbreviate(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, ' ');
  return oneLine.length <= describedTextCharsMax ? oneLine : `${oneLine.slice(0, describedTextCharsMax - 1)}…`;
}
