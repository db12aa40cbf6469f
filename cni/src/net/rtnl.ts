import { AddressOps } from './addresses.js';
import { BridgeOps } from './bridge.js';
import { FdbOps } from './fdb.js';
import { LinkOps } from './links.js';
import { NeighbourOps } from './neighbours.js';
import { RouteOps } from './routes.js';
import { RtnlSocket } from './socket.js';

/**
 * An rtnetlink handle on one network namespace: links, addresses, routes, neighbours, FDB and bridge settings. The
 * process stays in its own netns; only the socket belongs to the target one.
 */
export class Rtnl {
  readonly netnsPath: string | undefined;
  readonly links: LinkOps;
  readonly addresses: AddressOps;
  readonly routes: RouteOps;
  readonly neighbours: NeighbourOps;
  readonly fdb: FdbOps;
  readonly bridge: BridgeOps;
  readonly #socket: RtnlSocket;

  constructor(socket: RtnlSocket) {
    this.#socket = socket;
    this.netnsPath = socket.netnsPath;
    this.links = new LinkOps(socket);
    this.addresses = new AddressOps(socket, this.links);
    this.routes = new RouteOps(socket, this.links);
    this.neighbours = new NeighbourOps(socket, this.links);
    this.fdb = new FdbOps(socket, this.links);
    this.bridge = new BridgeOps(socket, this.links);
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * Opens an rtnetlink socket in the netns at `netnsPath` (the socket is created inside withNetns), or in the current
 * netns. A missing netns throws NetnsError ENOENT.
 */
export function openRtnl(netnsPath?: string): Rtnl {
  return new Rtnl(new RtnlSocket(netnsPath));
}

/** Opens an Rtnl, runs `fn`, and closes it however `fn` ends. */
export async function withRtnl<T>(netnsPath: string | undefined, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const rtnl = openRtnl(netnsPath);
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}
