import type { OwnedElement } from './elements.js';
import type { OwnedTableSpec } from './table-spec.js';

/**
 * MAC spoofing check (the bridge plugin's `macspoofchk`): frames entering the bridge from a container's host-side
 * veth must carry the container's MAC as source. Two sets in `table bridge berth-macspoof`, one rule, so the check
 * costs a lookup per frame whatever the number of containers.
 */
export const macspoofTableName = 'berth-macspoof';
export const MacspoofSet = {
  /** Host-side ports under the check. Key: interface name. */
  ports: 'ports',
  /** The one source MAC each port may send. Key: interface name . MAC. */
  allowed: 'allowed',
} as const;
const macspoofSets: readonly string[] = [MacspoofSet.ports, MacspoofSet.allowed];

export function macspoofBaseScript(): string {
  const table = `bridge ${macspoofTableName}`;
  return [
    `create table ${table} { comment "Berth macspoofchk: a container port may only send its own source MAC"; }`,
    `add set ${table} ${MacspoofSet.ports} { type ifname; }`,
    `add set ${table} ${MacspoofSet.allowed} { type ifname . ether_addr; }`,
    `add chain ${table} prerouting { type filter hook prerouting priority -300; policy accept; }`,
    `add rule ${table} prerouting iifname @${MacspoofSet.ports} iifname . ether saddr != @${MacspoofSet.allowed} drop`,
  ].join('\n');
}

export const macspoofTableSpec: OwnedTableSpec = {
  family: 'bridge',
  name: macspoofTableName,
  sets: macspoofSets,
  baseScript: macspoofBaseScript,
};

/** The elements that let `hostPort` send only `mac` (lower-case, colon-separated). */
export function macspoofElements(owner: string, hostPort: string, mac: string): OwnedElement[] {
  const normalized = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(normalized)) throw new RangeError(`macspoofElements: "${mac}" is not a MAC address`);
  return [
    { set: MacspoofSet.ports, key: hostPort, owner },
    { set: MacspoofSet.allowed, key: { concat: [hostPort, normalized] }, owner },
  ];
}
