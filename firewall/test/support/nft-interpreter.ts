/**
 * A tiny interpreter of the libnftables JSON the compiler emits: enough of nftables to apply transactions
 * (atomically, with the kernel's complaints about missing, duplicate, overlapping and still-referenced
 * objects) and to push a packet through the forward hook. It knows only the shapes Berth emits and throws
 * on anything else, so a change in the output shape cannot pass silently.
 */
import type { NftCommand, NftExpression, NftScript, NftStatement } from '@berth/nftables-napi';
import { parseAddress, type Family } from '../../src/model/address.js';

type Value = bigint | number;
/** A key component as an inclusive interval. */
type Interval = readonly [Value, Value];

interface MapElement {
  readonly key: readonly Interval[];
  readonly jump: string | null;
  /** goto instead of jump: the target's end returns to this chain's caller. */
  readonly goto: boolean;
  readonly verdict: 'drop' | 'accept' | 'return' | null;
}

interface SetState {
  readonly name: string;
  readonly isMap: boolean;
  readonly interval: boolean;
  readonly types: readonly string[];
  elements: MapElement[];
}

interface ChainState {
  readonly name: string;
  readonly hook: string | null;
  readonly rules: NftStatement[][];
}

interface TableState {
  readonly sets: Map<string, SetState>;
  readonly chains: Map<string, ChainState>;
}

export interface InterpretedPacket {
  readonly family: Family;
  readonly source: bigint;
  readonly destination: bigint;
  readonly protocol: number;
  /** The two bytes at transport offset 2 (`th dport`): the port for TCP/UDP/SCTP, anything for others. */
  readonly port: number;
  readonly conntrack: 'new' | 'established';
}

export type InterpretedVerdict = 'allow' | 'deny' | 'monitor';

export class NftInterpreterError extends Error {}

function concatParts(value: NftExpression): readonly NftExpression[] | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('concat' in value)) return null;
  return (value as { readonly concat: readonly NftExpression[] }).concat;
}

function fail(message: string): never {
  throw new NftInterpreterError(message);
}

function cloneTable(table: TableState): TableState {
  return {
    sets: new Map([...table.sets].map(([name, set]) => [name, { ...set, elements: [...set.elements] }])),
    chains: new Map([...table.chains].map(([name, chain]) => [name, { ...chain, rules: [...chain.rules] }])),
  };
}

function scalar(value: NftExpression, type: string): Value {
  if (type === 'ipv4_addr' || type === 'ipv6_addr') {
    const address = typeof value === 'string' ? parseAddress(value) : null;
    if (address === null || address.family !== (type === 'ipv4_addr' ? 4 : 6)) fail(`not a ${type}: ${JSON.stringify(value)}`);
    return address.value;
  }
  if (typeof value !== 'number') fail(`not a number for ${type}: ${JSON.stringify(value)}`);
  return value;
}

function interval(value: NftExpression, type: string): Interval {
  if (typeof value === 'object' && value !== null && 'range' in value) {
    const [low, high] = (value as { range: readonly [NftExpression, NftExpression] }).range;
    return [scalar(low, type), scalar(high, type)];
  }
  const single = scalar(value, type);
  return [single, single];
}

function parseElement(raw: unknown, set: SetState): MapElement {
  if (!Array.isArray(raw) || raw.length !== 2) fail(`map ${set.name}: element is not [key, value]`);
  const [keyExpression, valueExpression] = raw as [NftExpression, NftExpression];
  const parts = set.types.length > 1
    ? (concatParts(keyExpression) ?? fail(`map ${set.name}: key is not a concatenation`))
    : [keyExpression];
  if (parts.length !== set.types.length) fail(`map ${set.name}: key has ${parts.length} parts, type has ${set.types.length}`);
  const key = parts.map((part, index) => interval(part, set.types[index] as string));
  if (!set.interval && key.some(([low, high]) => low !== high)) fail(`map ${set.name}: range in a set without the interval flag`);
  const value = valueExpression as Record<string, unknown>;
  if ('jump' in value) return { key, jump: (value['jump'] as { target: string }).target, goto: false, verdict: null };
  if ('goto' in value) return { key, jump: (value['goto'] as { target: string }).target, goto: true, verdict: null };
  if ('drop' in value) return { key, jump: null, goto: false, verdict: 'drop' };
  if ('accept' in value) return { key, jump: null, goto: false, verdict: 'accept' };
  if ('return' in value) return { key, jump: null, goto: false, verdict: 'return' };
  return fail(`map ${set.name}: unsupported value ${JSON.stringify(valueExpression)}`);
}

const sameKey = (a: readonly Interval[], b: readonly Interval[]): boolean => a.every(([low, high], index) => low === b[index]?.[0] && high === b[index]?.[1]);
const overlaps = (a: readonly Interval[], b: readonly Interval[]): boolean => a.every(([low, high], index) => {
  const other = b[index];
  return other !== undefined && low <= other[1] && other[0] <= high;
});

/** Chains and maps referenced from rules and map elements (what the kernel's use counters track). */
function references(table: TableState): { chains: Set<string>; sets: Set<string> } {
  const chains = new Set<string>();
  const sets = new Set<string>();
  for (const set of table.sets.values()) for (const element of set.elements) if (element.jump !== null) chains.add(element.jump);
  for (const chain of table.chains.values()) {
    for (const rule of chain.rules) {
      for (const statement of rule) {
        if ('vmap' in statement && typeof statement.vmap.data === 'string') sets.add(statement.vmap.data.slice(1));
        if ('match' in statement && typeof statement.match.right === 'string' && statement.match.right.startsWith('@')) sets.add(statement.match.right.slice(1));
        if ('set' in statement) sets.add(statement.set.set.slice(1));
        if ('jump' in statement) chains.add(statement.jump.target);
        if ('goto' in statement) chains.add(statement.goto.target);
      }
    }
  }
  return { chains, sets };
}

export class NftInterpreter {
  #tables = new Map<string, TableState>();
  /** Packets counted per chain holding a counter (chain name → count). */
  readonly counters = new Map<string, number>();

  /** Applies one transaction: all of it or, on the first error, none of it. */
  apply(script: NftScript): void {
    const next = new Map([...this.#tables].map(([name, table]) => [name, cloneTable(table)]));
    for (const command of script.nftables) this.#command(next, command);
    this.#tables = next;
  }

  /** Elements of a plain (non-map) set, e.g. the generation set: what `list set` would show. */
  setValues(table: string, name: string): Value[] | null {
    const set = this.#tables.get(table)?.sets.get(name);
    return set === undefined ? null : set.elements.map((element) => element.key[0]?.[0] as Value);
  }

  tableNames(): string[] {
    return [...this.#tables.keys()];
  }

  /** A canonical dump for comparing two interpreters' states. */
  snapshot(): string {
    const tables = [...this.#tables].sort(([a], [b]) => a.localeCompare(b)).map(([name, table]) => ({
      name,
      sets: [...table.sets.values()].sort((a, b) => a.name.localeCompare(b.name)).map((set) => ({
        ...set,
        elements: set.elements.map((element) => JSON.stringify(element, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString(16) : value))).sort(),
      })),
      chains: [...table.chains.values()].sort((a, b) => a.name.localeCompare(b.name)).map((chain) => JSON.stringify(chain)),
    }));
    return JSON.stringify(tables, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString(16) : value));
  }

  #command(tables: Map<string, TableState>, command: NftCommand): void {
    const [verb, body] = Object.entries(command)[0] as [string, Record<string, Record<string, unknown>>];
    const [kind, object] = Object.entries(body)[0] as [string, Record<string, unknown>];
    if (object['family'] !== 'inet') fail(`only inet tables are interpreted, got ${String(object['family'])}`);
    const tableName = String(kind === 'table' ? object['name'] : object['table']);
    if (kind === 'table') {
      if (verb === 'add') { if (!tables.has(tableName)) tables.set(tableName, { sets: new Map(), chains: new Map() }); return; }
      if (verb === 'delete') { if (!tables.delete(tableName)) fail(`delete table ${tableName}: No such file or directory`); return; }
    }
    const table = tables.get(tableName) ?? fail(`${verb} ${kind}: table ${tableName} does not exist`);
    const name = String(object['name'] ?? object['chain']);
    switch (`${verb} ${kind}`) {
      case 'add set':
      case 'add map': {
        if (table.sets.has(name)) fail(`add ${kind} ${name}: exists`);
        const type = object['type'];
        const types = Array.isArray(type) ? type.map(String) : [String(type)];
        const flags = (object['flags'] as string[] | undefined) ?? [];
        table.sets.set(name, { name, isMap: kind === 'map', interval: flags.includes('interval'), types, elements: [] });
        if (object['elem'] !== undefined) fail('inline elements are not emitted by Berth');
        return;
      }
      case 'delete map':
      case 'delete set': {
        if (!table.sets.has(name)) fail(`delete ${kind} ${name}: No such file or directory`);
        if (references(table).sets.has(name)) fail(`delete ${kind} ${name}: Device or resource busy`);
        table.sets.delete(name);
        return;
      }
      case 'add element':
      case 'delete element':
        this.#elements(table, verb, name, object['elem']);
        return;
      case 'add chain': {
        if (table.chains.has(name)) fail(`add chain ${name}: exists`);
        table.chains.set(name, { name, hook: typeof object['hook'] === 'string' ? object['hook'] : null, rules: [] });
        return;
      }
      case 'flush chain': {
        const chain = table.chains.get(name) ?? fail(`flush chain ${name}: No such file or directory`);
        chain.rules.length = 0;
        return;
      }
      case 'delete chain': {
        if (!table.chains.has(name)) fail(`delete chain ${name}: No such file or directory`);
        table.chains.delete(name);
        if (references(table).chains.has(name)) fail(`delete chain ${name}: Device or resource busy`);
        return;
      }
      case 'add rule': {
        const chain = table.chains.get(String(object['chain'])) ?? fail(`add rule: chain ${String(object['chain'])} does not exist`);
        const expr = object['expr'] as NftStatement[];
        for (const statement of expr) {
          if ('vmap' in statement && typeof statement.vmap.data === 'string' && !table.sets.has(statement.vmap.data.slice(1))) {
            fail(`add rule: map ${statement.vmap.data} does not exist`);
          }
          if ('match' in statement && typeof statement.match.right === 'string' && statement.match.right.startsWith('@') && !table.sets.has(statement.match.right.slice(1))) {
            fail(`add rule: set ${statement.match.right} does not exist`);
          }
          if ('set' in statement && !table.sets.has(statement.set.set.slice(1))) fail(`add rule: set ${statement.set.set} does not exist`);
        }
        chain.rules.push(expr);
        return;
      }
      default:
        fail(`unsupported command ${verb} ${kind}`);
    }
  }

  #elements(table: TableState, verb: string, name: string, raw: unknown): void {
    const set = table.sets.get(name) ?? fail(`${verb} element: set ${name} does not exist`);
    for (const item of raw as unknown[]) {
      if (!set.isMap) {
        const key = [interval(item as NftExpression, set.types[0] as string)];
        const element: MapElement = { key, jump: null, goto: false, verdict: null };
        if (verb === 'add') {
          if (set.elements.some((existing) => sameKey(existing.key, key))) fail(`add element ${name}: File exists`);
          set.elements.push(element);
        } else {
          const index = set.elements.findIndex((existing) => sameKey(existing.key, key));
          if (index < 0) fail(`delete element ${name}: No such file or directory`);
          set.elements.splice(index, 1);
        }
        continue;
      }
      const element = parseElement(item, set);
      if (verb === 'add') {
        if (element.jump !== null && !table.chains.has(element.jump)) fail(`add element ${name}: chain ${element.jump} does not exist`);
        if (set.elements.some((existing) => overlaps(existing.key, element.key))) fail(`add element ${name}: overlapping element (File exists)`);
        set.elements.push(element);
      } else {
        const index = set.elements.findIndex((existing) => sameKey(existing.key, element.key));
        if (index < 0) fail(`delete element ${name}: No such file or directory`);
        set.elements.splice(index, 1);
      }
    }
  }

  /** Runs a packet through every inet forward base chain. */
  forward(packet: InterpretedPacket): InterpretedVerdict {
    let logged = false;
    for (const table of this.#tables.values()) {
      for (const chain of table.chains.values()) {
        if (chain.hook !== 'forward') continue;
        const result = this.#run(table, chain, packet, 0);
        logged ||= result.logged;
        if (result.verdict === 'drop') return 'deny';
      }
    }
    return logged ? 'monitor' : 'allow';
  }

  #run(table: TableState, chain: ChainState, packet: InterpretedPacket, depth: number): { verdict: 'accept' | 'drop' | null; logged: boolean } {
    if (depth > 16) fail('jump depth exceeded');
    let logged = false;
    for (const rule of chain.rules) {
      let matched = true;
      for (const statement of rule) {
        if (!matched) break;
        if ('match' in statement) {
          const { left, right, op } = statement.match;
          if (op === '==' && typeof right === 'string' && right.startsWith('@')) {
            matched = this.#lookup(table, left, right, packet) !== undefined;
            continue;
          }
          if (op !== 'in' || JSON.stringify(left) !== '{"ct":{"key":"state"}}') fail(`unsupported match ${JSON.stringify(statement)}`);
          matched = (right as string[]).includes(packet.conntrack);
        } else if ('limit' in statement) {
          // Under the rate: matches.
        } else if ('log' in statement) {
          logged = true;
        } else if ('counter' in statement) {
          this.counters.set(chain.name, (this.counters.get(chain.name) ?? 0) + 1);
        } else if ('set' in statement) {
          // Recording into a monitor-hit set: a side effect the verdict does not depend on.
          if (statement.set.op !== 'update' || !table.sets.has(statement.set.set.slice(1))) fail(`unsupported set statement ${JSON.stringify(statement)}`);
        } else if ('accept' in statement) {
          return { verdict: 'accept', logged };
        } else if ('drop' in statement) {
          return { verdict: 'drop', logged };
        } else if ('vmap' in statement) {
          const hit = this.#lookup(table, statement.vmap.key, String(statement.vmap.data), packet);
          if (hit === undefined) { matched = false; continue; }
          if (hit.verdict === 'return') return { verdict: null, logged };
          if (hit.verdict !== null) return { verdict: hit.verdict, logged };
          const result = this.#jump(table, hit.jump ?? '', packet, depth);
          logged ||= result.logged;
          if (result.verdict !== null || hit.goto) return { verdict: result.verdict, logged };
        } else if ('goto' in statement) {
          const result = this.#jump(table, statement.goto.target, packet, depth);
          return { verdict: result.verdict, logged: logged || result.logged };
        } else if ('jump' in statement) {
          const result = this.#jump(table, statement.jump.target, packet, depth);
          logged ||= result.logged;
          if (result.verdict !== null) return { verdict: result.verdict, logged };
        } else {
          fail(`unsupported statement ${JSON.stringify(statement)}`);
        }
      }
    }
    return { verdict: null, logged };
  }

  #jump(table: TableState, name: string, packet: InterpretedPacket, depth: number): { verdict: 'accept' | 'drop' | null; logged: boolean } {
    const target = table.chains.get(name) ?? fail(`jump to missing chain ${name}`);
    return this.#run(table, target, packet, depth + 1);
  }

  #lookup(table: TableState, key: NftExpression, data: string, packet: InterpretedPacket): MapElement | undefined {
    const set = table.sets.get(data.slice(1)) ?? fail(`vmap on missing map ${data}`);
    const parts = concatParts(key) ?? [key];
    const values: Value[] = [];
    for (const part of parts) {
      const text = JSON.stringify(part);
      if (text === '{"meta":{"key":"l4proto"}}') values.push(packet.protocol);
      else if (text === '{"payload":{"protocol":"th","field":"dport"}}') values.push(packet.port);
      else {
        const match = /^\{"payload":\{"protocol":"(ip6?)","field":"(saddr|daddr)"\}\}$/.exec(text) ?? fail(`unsupported key ${text}`);
        // `ip saddr` does not match IPv6 packets at all (nft adds the nfproto dependency).
        if ((match[1] === 'ip') !== (packet.family === 4)) return undefined;
        values.push(match[2] === 'saddr' ? packet.source : packet.destination);
      }
    }
    return set.elements.find((element) => element.key.every(([low, high], index) => {
      const value = values[index] as Value;
      return low <= value && value <= high;
    }));
  }
}
