/**
 * Plugin-specific CNI error codes of the NAT layer (the spec leaves 100 and up to plugins; berth-ipam uses 100).
 * NAT failures are thrown as `CniError` with these codes: `@berth/cni` has one error class at its boundary.
 */
export const NatCode = {
  /** A host port (protocol, host address) is already mapped to another container. */
  PortInUse: 110,
  /** A port mapping is malformed: unknown protocol, port 0, a host address of no family the container has. */
  InvalidPortMapping: 111,
  /** The `berth-nat` table exists but lacks a set or chain Berth needs (someone edited it by hand). */
  RulesetDamaged: 112,
} as const;
