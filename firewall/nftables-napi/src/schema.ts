/**
 * Types for the subset of the libnftables JSON schema (`man libnftables-json`, nftables 1.0.6, schema version 1)
 * that Berth emits and reads back. Input and output share these shapes; output adds `handle` and fills defaults.
 */

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

// ---------------------------------------------------------------------------------------------------------------
// Ruleset objects

export interface NftTableRef {
  readonly family: NftFamily;
  readonly name: string;
}

export interface NftTable extends NftTableRef {
  readonly handle?: number;
}

export interface NftChainRef {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
}

export type NftChainType = 'filter' | 'nat' | 'route';
export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type NftChainPolicy = 'accept' | 'drop';

/** A regular chain has only the reference fields; a base chain has `type`, `hook` and `prio` (and `policy`). */
export interface NftChain extends NftChainRef {
  readonly handle?: number;
  readonly type?: NftChainType;
  readonly hook?: NftHook;
  readonly prio?: number;
  readonly policy?: NftChainPolicy;
  /** The bound interface, netdev family only. */
  readonly dev?: string;
}

export interface NftRuleRef {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
}

export interface NftRule {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly expr: readonly NftStatement[];
  /** Output: the rule's handle. add/insert input: the rule to put this one after/before. */
  readonly handle?: number;
  /** add/insert input: position, as an alternative to `handle`. */
  readonly index?: number;
  /** Free text; Berth stores its owner tag here. */
  readonly comment?: string;
}

/** Set and map references share the shape of chain references: family, table, name. */
export type NftSetRef = NftChainRef;

export type NftDataType =
  | 'ipv4_addr' | 'ipv6_addr' | 'ether_addr' | 'inet_proto' | 'inet_service' | 'mark' | 'ifname' | 'iface_index'
  | 'ct_state' | 'verdict';
/** One type, or a concatenation such as `["ipv4_addr", "inet_service"]`. */
export type NftSetType = NftDataType | readonly NftDataType[];
/** `dynamic` appears in output only (sets filled from the packet path). */
export type NftSetFlag = 'constant' | 'interval' | 'timeout' | 'dynamic';
export type NftSetPolicy = 'performance' | 'memory';

interface NftSetCommon extends NftSetRef {
  readonly handle?: number;
  /** The key type. */
  readonly type: NftSetType;
  readonly flags?: readonly NftSetFlag[];
  readonly policy?: NftSetPolicy;
  /** Default element timeout, seconds. */
  readonly timeout?: number;
  readonly size?: number;
  readonly comment?: string;
}

export interface NftSet extends NftSetCommon {
  readonly elem?: readonly NftSetElement[];
}

export interface NftMap extends NftSetCommon {
  /** The type of the values, e.g. `"verdict"` for a verdict map. */
  readonly map: NftSetType;
  readonly elem?: readonly NftMapElement[];
}

/** Elements to add to or delete from a named set or map. */
export interface NftElement extends NftSetRef {
  readonly elem: readonly (NftSetElement | NftMapElement)[];
}

/** A set element: a value, prefix, range or concatenation, or an `elem` wrapper carrying a timeout or comment. */
export type NftSetElement = NftExpression;
/** A map element: `[key, value]`, the value being data or a verdict. */
export type NftMapElement = readonly [NftSetElement, NftExpression];

export interface NftElemExpression {
  readonly elem: {
    readonly val: NftExpression;
    readonly timeout?: number;
    readonly expires?: number;
    readonly comment?: string;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

export type NftImmediate = string | number | boolean;

export interface NftPayloadExpression {
  readonly payload: { readonly protocol: string; readonly field: string };
}

export type NftMetaKey =
  | 'length' | 'protocol' | 'priority' | 'mark' | 'iif' | 'iifname' | 'iiftype' | 'oif' | 'oifname' | 'oiftype'
  | 'skuid' | 'skgid' | 'nftrace' | 'pkttype' | 'iifgroup' | 'oifgroup' | 'cgroup' | 'nfproto' | 'l4proto'
  | 'ibrname' | 'obrname';
export interface NftMetaExpression {
  readonly meta: { readonly key: NftMetaKey };
}

export type NftCtKey =
  | 'state' | 'direction' | 'status' | 'mark' | 'expiration' | 'helper' | 'l3proto' | 'protocol' | 'saddr'
  | 'daddr' | 'proto-src' | 'proto-dst' | 'zone';
export interface NftCtExpression {
  readonly ct: { readonly key: NftCtKey; readonly family?: 'ip' | 'ip6'; readonly dir?: 'original' | 'reply' };
}

export type NftFibFlag = 'saddr' | 'daddr' | 'mark' | 'iif' | 'oif';
export interface NftFibExpression {
  readonly fib: { readonly result: 'oif' | 'oifname' | 'type'; readonly flags: NftFibFlag | readonly NftFibFlag[] };
}

export interface NftConcatExpression {
  readonly concat: readonly NftExpression[];
}
/** An anonymous set (`{ 22, 80 }`), or with `[key, value]` pairs an anonymous map. */
export interface NftAnonymousSetExpression {
  readonly set: NftExpression | readonly (NftExpression | NftMapElement)[];
}
export interface NftMapExpression {
  readonly map: { readonly key: NftExpression; readonly data: NftExpression };
}
export interface NftPrefixExpression {
  readonly prefix: { readonly addr: NftExpression; readonly len: number };
}
export interface NftRangeExpression {
  readonly range: readonly [NftExpression, NftExpression];
}
export type NftBinaryExpression =
  | { readonly '&': readonly [NftExpression, NftExpression] }
  | { readonly '|': readonly [NftExpression, NftExpression] };

/**
 * Immediate values (a string starting with `@` names a set: `"@allowed"`), lists, and the structured
 * expressions. Verdicts are expressions too, as values of verdict maps.
 */
export type NftExpression =
  | NftImmediate
  | readonly NftExpression[]
  | NftPayloadExpression
  | NftMetaExpression
  | NftCtExpression
  | NftFibExpression
  | NftConcatExpression
  | NftAnonymousSetExpression
  | NftMapExpression
  | NftPrefixExpression
  | NftRangeExpression
  | NftBinaryExpression
  | NftElemExpression
  | NftVerdict;

// ---------------------------------------------------------------------------------------------------------------
// Statements

export type NftVerdict =
  | { readonly accept: null }
  | { readonly drop: null }
  | { readonly continue: null }
  | { readonly return: null }
  | { readonly jump: { readonly target: string } }
  | { readonly goto: { readonly target: string } };

export type NftMatchOperator = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in';
export interface NftMatchStatement {
  readonly match: { readonly op: NftMatchOperator; readonly left: NftExpression; readonly right: NftExpression };
}

/** Anonymous counter (null or initial values in input, values in output) or a reference to a named counter. */
export interface NftCounterStatement {
  readonly counter: null | { readonly packets?: number; readonly bytes?: number } | string;
}

export interface NftRejectStatement {
  readonly reject: null | {
    readonly type?: 'tcp reset' | 'icmpx' | 'icmp' | 'icmpv6';
    /** ICMP code, e.g. `"port-unreachable"`, `"admin-prohibited"`. */
    readonly expr?: string;
  };
}

/** Verdict by lookup: `key` looked up in `data`, a named map (`"@name"`) or an anonymous one. */
export interface NftVmapStatement {
  readonly vmap: { readonly key: NftExpression; readonly data: NftExpression };
}

export type NftNatFlag = 'random' | 'fully-random' | 'persistent';
export interface NftNatOptions {
  readonly addr?: NftExpression;
  /** Family of `addr`; required in inet tables. */
  readonly family?: 'ip' | 'ip6';
  readonly port?: NftExpression;
  readonly flags?: NftNatFlag | readonly NftNatFlag[];
}
export interface NftSnatStatement {
  readonly snat: NftNatOptions;
}
export interface NftDnatStatement {
  readonly dnat: NftNatOptions;
}
export interface NftMasqueradeStatement {
  readonly masquerade: null | { readonly port?: NftExpression; readonly flags?: NftNatFlag | readonly NftNatFlag[] };
}

export type NftLogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug' | 'audit';
export interface NftLogStatement {
  readonly log: null | {
    readonly prefix?: string;
    /** NFLOG group: the packet goes to userspace (nflog) instead of the kernel log. */
    readonly group?: number;
    readonly level?: NftLogLevel;
    readonly snaplen?: number;
  };
}

export type NftTimeUnit = 'second' | 'minute' | 'hour' | 'day' | 'week';
export interface NftLimitStatement {
  readonly limit: {
    readonly rate: number;
    /** `packets` (default) or a byte unit such as `"kbytes"`. */
    readonly rate_unit?: string;
    readonly per?: NftTimeUnit;
    readonly burst?: number;
    readonly burst_unit?: string;
    /** Match when over the limit. */
    readonly inv?: boolean;
  };
}

export interface NftNotrackStatement {
  readonly notrack: null;
}

/**
 * Adds the key built from the packet to a named set (`"@name"`), from the packet path: `add` leaves an existing
 * element alone, `update` also restarts its timeout. The set needs the `timeout` flag (or a size) for the kernel
 * to make it dynamic; constants in a concatenated key take their type from the set's key type.
 */
export interface NftSetStatement {
  readonly set: { readonly op: 'add' | 'update'; readonly elem: NftExpression; readonly set: string };
}

export type NftStatement =
  | NftVerdict
  | NftMatchStatement
  | NftCounterStatement
  | NftRejectStatement
  | NftVmapStatement
  | NftSnatStatement
  | NftDnatStatement
  | NftMasqueradeStatement
  | NftLogStatement
  | NftLimitStatement
  | NftNotrackStatement
  | NftSetStatement;

// ---------------------------------------------------------------------------------------------------------------
// Commands (input)

export type NftAddObject =
  | { readonly table: NftTable }
  | { readonly chain: NftChain }
  | { readonly rule: NftRule }
  | { readonly set: NftSet }
  | { readonly map: NftMap }
  | { readonly element: NftElement };

export type NftDeleteObject =
  | { readonly table: NftTableRef }
  | { readonly chain: NftChainRef }
  | { readonly rule: NftRuleRef }
  | { readonly set: NftSetRef }
  | { readonly map: NftSetRef }
  | { readonly element: NftElement };

export type NftFlushObject =
  | { readonly table: NftTableRef }
  | { readonly chain: NftChainRef }
  | { readonly set: NftSetRef }
  | { readonly map: NftSetRef }
  | { readonly ruleset: null };

/** Plural forms list every object of the kind, optionally of one family. */
export type NftListObject =
  | { readonly table: NftTableRef }
  | { readonly chain: NftChainRef }
  | { readonly set: NftSetRef }
  | { readonly map: NftSetRef }
  | { readonly ruleset: null }
  | { readonly tables: null | { readonly family: NftFamily } }
  | { readonly chains: null | { readonly family: NftFamily } }
  | { readonly sets: null | { readonly family: NftFamily } }
  | { readonly maps: null | { readonly family: NftFamily } };

/**
 * One command. `create` fails when the object exists where `add` does not; `insert` prepends a rule;
 * `replace` needs the rule's `handle`; `delete` fails when the object does not exist.
 */
export type NftCommand =
  | { readonly add: NftAddObject }
  | { readonly create: NftAddObject }
  | { readonly insert: { readonly rule: NftRule } }
  | { readonly replace: { readonly rule: NftRule & { readonly handle: number } } }
  | { readonly delete: NftDeleteObject }
  | { readonly flush: NftFlushObject }
  | { readonly list: NftListObject };

/** A whole libnftables JSON document: its commands run as one kernel transaction. */
export interface NftScript {
  readonly nftables: readonly NftCommand[];
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export interface NftMetainfo {
  readonly metainfo: { readonly version: string; readonly release_name: string; readonly json_schema_version: number };
}

/** Listed objects Berth reads, keyed by kind. */
export interface NftListed {
  readonly table: NftTable;
  readonly chain: NftChain;
  readonly rule: NftRule;
  readonly set: NftSet;
  readonly map: NftMap;
}

/** Kinds libnftables may list that Berth neither emits nor reads; present in output, untyped. */
export type NftForeignKind =
  | 'flowtable' | 'counter' | 'quota' | 'limit' | 'ct helper' | 'ct timeout' | 'ct expectation' | 'secmark'
  | 'synproxy' | 'element';
export type NftForeignObject = { readonly [K in NftForeignKind]: { readonly [P in K]: unknown } }[NftForeignKind];

export type NftOutputObject =
  | NftMetainfo
  | { readonly [K in keyof NftListed]: { readonly [P in K]: NftListed[K] } }[keyof NftListed]
  | NftForeignObject;

/**
 * What `Nft.run` returns: the listed objects of every list command in the input, in order, after one metainfo
 * object; `{ nftables: [] }` when the input listed nothing.
 */
export interface NftOutput {
  readonly nftables: readonly NftOutputObject[];
}
