/**
 * CompiledFirewall ⇄ JSON, for the enforcer's record of what it applied. Each group's boxes travel as one
 * compact string and are decoded only when read (a diff reads only groups whose fingerprint changed), and a
 * group never decoded is written back as the same string: with a thousand groups, a change that touches one
 * costs one group's decode.
 */
import { FirewallCode, FirewallError } from '../errors.js';
import type { Direction } from '../evaluate/context.js';
import type { Family } from '../model/address.js';
import { dispatchNames, type ActionChain, type Box, type CompiledFirewall, type DispatchName, type Group } from './ir.js';

interface EncodedGroup {
  readonly name: string;
  readonly direction: Direction;
  readonly family: Family;
  readonly fingerprint: string;
  readonly defaultAction: string | null;
  readonly actions: readonly string[];
  /** `peerLow,peerHigh,protocolLow,protocolHigh,portLow,portHigh,actionIndex` per box, `;`-separated (hex). */
  readonly boxes: string;
}

export interface EncodedCompiled {
  readonly version: 3;
  readonly actions: readonly ActionChain[];
  readonly groups: readonly EncodedGroup[];
  readonly dispatch: Readonly<Record<DispatchName, Readonly<Record<string, string>>>>;
}

const encodedBoxes = new WeakMap<Group, string>();

function encodeBoxes(group: Group): string {
  const known = encodedBoxes.get(group);
  if (known !== undefined) return known;
  const index = new Map(group.actions.map((action, position) => [action, position]));
  return group.boxes.map((box) => [
    box.peerLow.toString(16), box.peerHigh.toString(16), box.protocolLow.toString(16), box.protocolHigh.toString(16),
    box.portLow.toString(16), box.portHigh.toString(16), box.action === null ? '-' : String(index.get(box.action)),
  ].join(',')).join(';');
}

function decodeBoxes(text: string, actions: readonly string[], group: string): Box[] {
  if (text === '') return [];
  return text.split(';').map((item) => {
    const parts = item.split(',');
    const action = parts[6] === '-' ? null : actions[Number(parts[6])];
    if (parts.length !== 7 || action === undefined) throw new FirewallError(FirewallCode.State, `Cannot read the applied firewall record: malformed box in ${group}`);
    const number = (position: number): number => parseInt(parts[position] ?? '', 16);
    return {
      peerLow: BigInt(`0x${parts[0]}`), peerHigh: BigInt(`0x${parts[1]}`), protocolLow: number(2), protocolHigh: number(3),
      portLow: number(4), portHigh: number(5), action,
    };
  });
}

/** A group read from a record: its boxes are decoded on first access. */
function lazyGroup(encoded: EncodedGroup): Group {
  let boxes: Box[] | undefined;
  const group: Group = {
    name: encoded.name, direction: encoded.direction, family: encoded.family, fingerprint: encoded.fingerprint,
    defaultAction: encoded.defaultAction, actions: encoded.actions,
    get boxes(): readonly Box[] {
      boxes ??= decodeBoxes(encoded.boxes, encoded.actions, encoded.name);
      return boxes;
    },
  };
  encodedBoxes.set(group, encoded.boxes);
  return group;
}

export function encodeCompiled(compiled: CompiledFirewall): EncodedCompiled {
  const dispatch = Object.fromEntries(dispatchNames.map((name) => [name, Object.fromEntries(compiled.dispatch.get(name) ?? new Map())])) as Record<DispatchName, Record<string, string>>;
  return {
    version: 3,
    actions: [...compiled.actions.values()],
    groups: [...compiled.groups.values()].map((group) => ({
      name: group.name, direction: group.direction, family: group.family, fingerprint: group.fingerprint,
      defaultAction: group.defaultAction, actions: group.actions, boxes: encodeBoxes(group),
    })),
    dispatch,
  };
}

export function decodeCompiled(value: unknown): CompiledFirewall {
  const encoded = value as Partial<EncodedCompiled> | null;
  if (encoded === null || typeof encoded !== 'object' || encoded.version !== 3 || !Array.isArray(encoded.groups) || !Array.isArray(encoded.actions)) {
    throw new FirewallError(FirewallCode.State, 'Cannot read the applied firewall record: unknown format');
  }
  const groups = new Map<string, Group>(encoded.groups.map((group: EncodedGroup) => [group.name, lazyGroup(group)]));
  const dispatch = new Map(dispatchNames.map((name) => [name, new Map(Object.entries(encoded.dispatch?.[name] ?? {}))]));
  return { actions: new Map(encoded.actions.map((action: ActionChain) => [action.name, action])), groups, dispatch };
}
