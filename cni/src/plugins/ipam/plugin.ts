import { readFileSync } from 'node:fs';
import { CniCode, CniError } from '../../errors.js';
import { allocate, freeCount, pickToResultIp, sameOwner, type Owner } from '../../ipam/allocator.js';
import { parseIpamConfig, type IpamConfig } from '../../ipam/config.js';
import { failpointsFromEnv, type Failpoint } from '../../ipam/failpoints.js';
import { acquireLock, defaultLockWait, type LockWait, type TryLock } from '../../ipam/lock.js';
import { parseResolvConf } from '../../ipam/resolv-conf.js';
import { describeRangeSet, rangeContains } from '../../ipam/range.js';
import { ReservationStore, type StoreSnapshot } from '../../ipam/store.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import { formatIp } from '../../net/ip.js';
import { tryParseCidr } from '../../spec/ip.js';
import type { Dns, Result, ResultIp, ResultRoute } from '../../spec/result.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';

/** The `ipam.type` (and executable name) of Berth's IPAM. */
export const BERTH_IPAM_TYPE = 'berth-ipam';

export interface BerthIpamOptions {
  /** The lock port; defaults to `tryLockFile` of @berth/netns-napi, loaded on first use. */
  readonly tryLock?: TryLock;
  readonly lockWait?: LockWait;
  /** Crash-test hooks; defaults to those named in the request's BERTH_FAILPOINTS. */
  readonly failpoint?: Failpoint;
}

const resolvConfBytesMax = 64 * 1024;

/** The native flock, imported on first use so VERSION never loads the addon. */
async function defaultTryLock(): Promise<TryLock> {
  const { tryLockFile } = await import('@berth/netns-napi');
  return tryLockFile;
}

function readResolvConf(path: string): Dns {
  let text: string;
  try {
    const data = readFileSync(path);
    text = data.subarray(0, resolvConfBytesMax).toString('utf8');
  } catch (error) {
    throw new CniError(CniCode.IoFailure, `Cannot read ipam.resolvConf ${path}: ${(error as Error).message}`);
  }
  return parseResolvConf(text);
}

function ownerOf(request: CniRequest): Owner {
  return { containerId: request.containerId, ifName: request.ifName };
}

/** The reservation belongs to the attachment, or is an old host-local one naming only this container. */
function heldBy(holder: Owner, owner: Owner): boolean {
  return sameOwner(holder, owner) || (holder.ifName === undefined && holder.containerId === owner.containerId);
}

/**
 * berth-ipam: host-local's configuration, layout and allocation order, with write-then-rename persistence, GC and
 * STATUS. Runs as its own executable or in-process for a Berth plugin that delegates to it.
 */
export function createBerthIpam(options: BerthIpamOptions = {}): CniPlugin {
  const lockWait = options.lockWait ?? defaultLockWait;
  let tryLock = options.tryLock;

  /** Runs `work` with the network's lock held; the store directory is created first when `create` is set. */
  async function locked<T>(request: CniRequest, config: IpamConfig, create: boolean,
    work: (store: ReservationStore, snapshot: StoreSnapshot) => T): Promise<T | undefined> {
    const failpoint = options.failpoint ?? failpointsFromEnv(request.env);
    const store = new ReservationStore(config.dataDir, config.network, failpoint);
    if (create) store.ensureDir();
    else if (!store.exists()) return undefined;
    tryLock ??= await defaultTryLock();
    const release = await acquireLock(store.lockPath, tryLock, lockWait);
    try {
      failpoint('ipam-after-lock');
      const snapshot = store.read();
      store.removeStaleTemps(snapshot.staleTempFiles);
      const value = work(store, snapshot);
      store.sync();
      failpoint('ipam-before-unlock');
      return value;
    } finally {
      release();
    }
  }

  async function add(request: CniRequest): Promise<Result> {
    const config = parseIpamConfig(request.config, request.args, request.env);
    const dns = config.resolvConf === undefined ? undefined : readResolvConf(config.resolvConf);
    const owner = ownerOf(request);
    const picks = await locked(request, config, true, (store, snapshot) => {
      const chosen = allocate({ rangeSets: config.rangeSets, state: snapshot, owner, requested: config.requestedIps });
      const written: typeof chosen = [];
      try {
        for (const pick of chosen.filter((item) => item.fresh)) {
          store.reserve(pick.address, owner, pick.setIndex);
          written.push(pick);
        }
      } catch (error) {
        // Undo this call's reservations so a failed ADD holds nothing.
        for (const pick of written) store.release(formatIp(pick.address));
        throw error;
      }
      return chosen;
    }) ?? [];
    const result: { ips: ResultIp[]; routes?: readonly ResultRoute[]; dns?: Dns } = {
      ips: picks.map(pickToResultIp),
    };
    if (config.routes.length > 0) result.routes = config.routes;
    if (dns !== undefined && Object.keys(dns).length > 0) result.dns = dns;
    return result;
  }

  async function del(request: CniRequest): Promise<void> {
    const config = parseIpamConfig(request.config, request.args, request.env);
    const owner = ownerOf(request);
    await locked(request, config, false, (store, snapshot) => {
      let released = 0;
      for (const [key, holder] of snapshot.reservations) {
        if (!heldBy(holder, owner)) continue;
        store.release(key);
        released += 1;
        if (released === 1) (options.failpoint ?? failpointsFromEnv(request.env))('ipam-del-after-first-release');
      }
    });
  }

  async function check(request: CniRequest): Promise<void> {
    const config = parseIpamConfig(request.config, request.args, request.env);
    const owner = ownerOf(request);
    const snapshot = new ReservationStore(config.dataDir, config.network).read();
    const held = [...snapshot.reservations].filter(([, holder]) => heldBy(holder, owner)).map(([key]) => key);
    if (held.length === 0) {
      throw new CniError(CniCode.Internal, `${BERTH_IPAM_TYPE}: no address is reserved for container ${owner.containerId} interface ${owner.ifName ?? ''} in network ${config.network}`);
    }
    // Every address of prevResult inside our ranges must still be reserved for this attachment.
    for (const ip of request.config.prevResult?.ips ?? []) {
      const address = tryParseCidr(ip.address)?.address;
      if (address === undefined || !config.rangeSets.some((set) => set.some((range) => rangeContains(range, address)))) continue;
      if (!held.includes(formatIp(address))) {
        throw new CniError(CniCode.Internal, `${BERTH_IPAM_TYPE}: ${formatIp(address)} of prevResult is not reserved for container ${owner.containerId} interface ${owner.ifName ?? ''}`);
      }
    }
  }

  async function status(request: CniRequest): Promise<void> {
    const config = parseIpamConfig(request.config, request.args, request.env);
    const snapshot = new ReservationStore(config.dataDir, config.network).read();
    const exhausted = config.rangeSets.find((set) => freeCount(set, snapshot.reservations) <= 0n);
    if (exhausted !== undefined) {
      throw new CniError(CniCode.PluginNotAvailable, `${BERTH_IPAM_TYPE}: range set ${describeRangeSet(exhausted)} of network ${config.network} is exhausted`);
    }
  }

  async function gc(request: CniRequest): Promise<void> {
    const config = parseIpamConfig(request.config, request.args, request.env);
    const valid = request.config.validAttachments ?? [];
    const keep = (holder: Owner): boolean => valid.some((attachment) => attachment.containerID === holder.containerId
      && (holder.ifName === undefined || attachment.ifname === holder.ifName));
    await locked(request, config, false, (store, snapshot) => {
      for (const [key, holder] of snapshot.reservations) if (!keep(holder)) store.release(key);
    });
  }

  return { name: BERTH_IPAM_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, status, gc };
}
