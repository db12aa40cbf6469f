/** CompiledFirewall ⇄ JSON, for the enforcer's record of what it applied (bigints travel as hex strings). */
import { FirewallCode, FirewallError } from '../errors.js';
import { dispatchNames, type ActionChain, type CompiledFirewall, type DispatchName, type Group } from './ir.js';

interface EncodedBox { readonly p: readonly [string, string]; readonly l: readonly [number, number]; readonly d: readonly [number, number]; readonly a: string | null }
interface EncodedGroup { readonly name: string; readonly direction: Group['direction']; readonly family: Group['family']; readonly defaultAction: string | null; readonly boxes: readonly EncodedBox[] }
export interface EncodedCompiled {
  readonly version: 2;
  readonly actions: readonly ActionChain[];
  readonly groups: readonly EncodedGroup[];
  readonly dispatch: Readonly<Record<DispatchName, Readonly<Record<string, string>>>>;
}

export function encodeCompiled(compiled: CompiledFirewall): EncodedCompiled {
  const dispatch = Object.fromEntries(dispatchNames.map((name) => [name, Object.fromEntries(compiled.dispatch.get(name) ?? new Map())])) as Record<DispatchName, Record<string, string>>;
  return {
    version: 2,
    actions: [...compiled.actions.values()],
    groups: [...compiled.groups.values()].map((group) => ({
      name: group.name, direction: group.direction, family: group.family, defaultAction: group.defaultAction,
      boxes: group.boxes.map((box) => ({
        p: [box.peerLow.toString(16), box.peerHigh.toString(16)], l: [box.protocolLow, box.protocolHigh], d: [box.portLow, box.portHigh], a: box.action,
      })),
    })),
    dispatch,
  };
}

export function decodeCompiled(value: unknown): CompiledFirewall {
  const encoded = value as Partial<EncodedCompiled> | null;
  if (encoded === null || typeof encoded !== 'object' || encoded.version !== 2 || !Array.isArray(encoded.groups) || !Array.isArray(encoded.actions)) {
    throw new FirewallError(FirewallCode.State, 'Cannot read the applied firewall record: unknown format');
  }
  const groups = new Map<string, Group>(encoded.groups.map((group: EncodedGroup) => [group.name, {
    name: group.name, direction: group.direction, family: group.family, defaultAction: group.defaultAction ?? null,
    boxes: group.boxes.map((box: EncodedBox) => ({
      peerLow: BigInt(`0x${box.p[0]}`), peerHigh: BigInt(`0x${box.p[1]}`), protocolLow: box.l[0], protocolHigh: box.l[1],
      portLow: box.d[0], portHigh: box.d[1], action: box.a,
    })),
  }]));
  const dispatch = new Map(dispatchNames.map((name) => [name, new Map(Object.entries(encoded.dispatch?.[name] ?? {}))]));
  return { actions: new Map(encoded.actions.map((action: ActionChain) => [action.name, action])), groups, dispatch };
}
