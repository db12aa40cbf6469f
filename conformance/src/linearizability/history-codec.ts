import { HistoryFormatError, validateOperation, type KvInput, type KvOkOutput, type Operation } from './history.js';

/**
 * The on-disk form of a history: JSON lines, one event each, as Jepsen records them. A client appends an `invoke`
 * line before it sends a request and an `ok` or `unknown` line when it learns the outcome (or gives up). Each client
 * process writes its own file; the test merges them. An `invoke` with no completion (the client died before writing
 * one) is an unknown outcome, so a killed client cannot hide a write it may have made.
 *
 * ```
 * {"event":"invoke","clientId":1,"opId":0,"key":"k1","input":{"kind":"cas","expected":null,"value":"a"},"atMs":17.2}
 * {"event":"ok","clientId":1,"opId":0,"output":{"succeeded":true},"atMs":19.8}
 * {"event":"unknown","clientId":1,"opId":1,"atMs":1030.5}
 * ```
 */
export type HistoryEvent =
  | {
    readonly event: 'invoke';
    readonly clientId: number;
    readonly opId: number;
    readonly key: string;
    readonly input: KvInput;
    readonly atMs: number;
  }
  | {
    readonly event: 'ok';
    readonly clientId: number;
    readonly opId: number;
    readonly output: Omit<KvOkOutput, 'kind'>;
    readonly atMs: number;
  }
  | { readonly event: 'unknown'; readonly clientId: number; readonly opId: number; readonly atMs: number };

export function encodeHistoryEvent(event: HistoryEvent): string {
  return JSON.stringify(event);
}

/** Parses JSON lines (blank lines skipped); `source` names the file in errors. */
export function decodeHistoryLines(text: string, source: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `${source}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new HistoryFormatError(`Cannot parse history line ${where}: ${(error as Error).message}`);
    }
    events.push(decodeEvent(value, where));
  }
  return events;
}

/**
 * Pairs invokes with their completions. An invoke without completion becomes an unknown outcome; a completion without
 * invoke, or a second invoke or completion of one (clientId, opId), is a HistoryFormatError.
 * Operations come out sorted by call time, then client.
 */
export function operationsFromEvents(events: Iterable<HistoryEvent>): Operation[] {
  const invokes = new Map<string, HistoryEvent & { event: 'invoke' }>();
  const completions = new Map<string, HistoryEvent>();
  for (const event of events) {
    const id = `client ${event.clientId} operation ${event.opId}`;
    const table = event.event === 'invoke' ? invokes : completions;
    if (table.has(id)) throw new HistoryFormatError(`Cannot merge history: ${event.event} of ${id} appears twice`);
    if (event.event === 'invoke') invokes.set(id, event);
    else completions.set(id, event);
  }
  for (const id of completions.keys()) {
    if (!invokes.has(id)) throw new HistoryFormatError(`Cannot merge history: ${id} completes but was never invoked`);
  }
  const operations: Operation[] = [];
  for (const [id, invoke] of invokes) {
    const completion = completions.get(id);
    const base = { clientId: invoke.clientId, key: invoke.key, input: invoke.input, callMs: invoke.atMs };
    const operation: Operation = completion?.event === 'ok'
      ? { ...base, output: { kind: 'ok', ...completion.output }, returnMs: completion.atMs }
      : { ...base, output: { kind: 'unknown' }, returnMs: Infinity };
    validateOperation(operation);
    operations.push(operation);
  }
  return operations.sort((a, b) => a.callMs - b.callMs || a.clientId - b.clientId);
}

/** The events that `operationsFromEvents` turns back into these operations (opIds numbered per client). */
export function operationsToEvents(operations: readonly Operation[]): HistoryEvent[] {
  const nextOpId = new Map<number, number>();
  const events: HistoryEvent[] = [];
  for (const operation of operations) {
    validateOperation(operation);
    const opId = nextOpId.get(operation.clientId) ?? 0;
    nextOpId.set(operation.clientId, opId + 1);
    const { clientId, key, input, output } = operation;
    events.push({ event: 'invoke', clientId, opId, key, input, atMs: operation.callMs });
    if (output.kind === 'ok') {
      const { kind: _kind, ...fields } = output;
      events.push({ event: 'ok', clientId, opId, output: fields, atMs: operation.returnMs });
    } else {
      events.push({ event: 'unknown', clientId, opId, atMs: operation.callMs });
    }
  }
  return events;
}

/** JSON lines for a whole history, e.g. to keep a failing one as a test case. */
export function encodeOperations(operations: readonly Operation[]): string {
  return operationsToEvents(operations).map((event) => `${encodeHistoryEvent(event)}\n`).join('');
}

/** Merges the files of several clients (already read) into one history. */
export function mergeHistories(files: readonly { readonly source: string; readonly text: string }[]): Operation[] {
  return operationsFromEvents(files.flatMap((file) => decodeHistoryLines(file.text, file.source)));
}

function decodeEvent(value: unknown, where: string): HistoryEvent {
  const record = asRecord(value, where);
  const clientId = integerField(record, 'clientId', where);
  const opId = integerField(record, 'opId', where);
  const atMs = finiteField(record, 'atMs', where);
  switch (record['event']) {
    case 'invoke': {
      const key = record['key'];
      if (typeof key !== 'string') throw new HistoryFormatError(`Cannot read ${where}: key must be a string`);
      return { event: 'invoke', clientId, opId, key, input: decodeInput(record['input'], where), atMs };
    }
    case 'ok':
      return { event: 'ok', clientId, opId, output: decodeOkOutput(record['output'], where), atMs };
    case 'unknown':
      return { event: 'unknown', clientId, opId, atMs };
    default:
      throw new HistoryFormatError(`Cannot read ${where}: event ${JSON.stringify(record['event'])} is not invoke, ok or unknown`);
  }
}

function decodeInput(value: unknown, where: string): KvInput {
  const record = asRecord(value, where);
  const stringOrNull = (name: string, allowNull: boolean): string | null => {
    const field = record[name];
    if (typeof field === 'string' || (allowNull && field === null)) return field;
    throw new HistoryFormatError(`Cannot read ${where}: input.${name} must be a string${allowNull ? ' or null' : ''}`);
  };
  switch (record['kind']) {
    case 'put':
      return { kind: 'put', value: stringOrNull('value', false) as string };
    case 'get':
      return { kind: 'get' };
    case 'cas':
      return { kind: 'cas', expected: stringOrNull('expected', true), value: stringOrNull('value', false) as string };
    case 'delete':
      return { kind: 'delete' };
    default:
      throw new HistoryFormatError(`Cannot read ${where}: input.kind ${JSON.stringify(record['kind'])} is not put, get, cas or delete`);
  }
}

function decodeOkOutput(value: unknown, where: string): Omit<KvOkOutput, 'kind'> {
  const record = asRecord(value, where);
  const fields: { value?: string | null; succeeded?: boolean } = {};
  const read = record['value'];
  if (read !== undefined) {
    if (read !== null && typeof read !== 'string') throw new HistoryFormatError(`Cannot read ${where}: output.value must be a string or null`);
    fields.value = read;
  }
  const succeeded = record['succeeded'];
  if (succeeded !== undefined) {
    if (typeof succeeded !== 'boolean') throw new HistoryFormatError(`Cannot read ${where}: output.succeeded must be a boolean`);
    fields.succeeded = succeeded;
  }
  return fields;
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HistoryFormatError(`Cannot read ${where}: expected an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function integerField(record: Record<string, unknown>, name: string, where: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HistoryFormatError(`Cannot read ${where}: ${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function finiteField(record: Record<string, unknown>, name: string, where: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HistoryFormatError(`Cannot read ${where}: ${name} must be a finite number, got ${JSON.stringify(value)}`);
  }
  return value;
}
