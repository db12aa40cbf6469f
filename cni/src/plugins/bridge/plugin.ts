import { ipamGc, ipamStatus } from '../../invoke/ipam.js';
import { ownerTag } from '../../nat/owner.js';
import { masqueradeSets } from '../../nat/ruleset.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { bridgeAdd } from './add.js';
import { bridgeCheck } from './check.js';
import { parseBridgeConfig } from './config.js';
import { bridgeDel } from './del.js';
import { withHostTables } from './tables.js';

export const BERTH_BRIDGE_TYPE = 'berth-bridge';

/** GC: IPAM reservations, masquerade and MAC-check elements of this network whose attachments are not listed. */
async function bridgeGc(request: CniRequest): Promise<void> {
  const config = parseBridgeConfig(request);
  if (config.hasIpam) await ipamGc(request);
  const network = request.config.name;
  const keep = new Set((request.config.validAttachments ?? []).map((attachment) =>
    ownerTag({ network, containerId: attachment.containerID, ifName: attachment.ifname })));
  await withHostTables(request.hostNetns, async (tables) => {
    await (await tables.nat()).collect(network, keep, masqueradeSets);
    await (await tables.macspoof()).collect(network, keep);
  });
}

export interface BerthBridgeOptions {
  /** Where undo failures of a failed ADD are reported (the executable writes them to stderr). */
  readonly reportRollbackFailures?: (failures: string[]) => void;
  /** Called at the end of each step of ADD and DEL with its name (the timing breakdown of the benchmark). */
  readonly onPhase?: (name: string) => void;
}

/** berth-bridge: the reference bridge plugin's behaviour, with NAT and the MAC check in nftables. */
export function createBerthBridge(options: BerthBridgeOptions = {}): CniPlugin {
  const report = options.reportRollbackFailures ?? (() => undefined);
  return {
    name: BERTH_BRIDGE_TYPE,
    supportedVersions: SUPPORTED_VERSIONS,
    add: (request) => bridgeAdd(request, report, options.onPhase),
    del: (request) => bridgeDel(request, options.onPhase),
    check: bridgeCheck,
    status: async (request) => {
      if (parseBridgeConfig(request).hasIpam) await ipamStatus(request);
    },
    gc: bridgeGc,
  };
}
