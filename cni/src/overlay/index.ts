export { fnv1a64, hashHex } from './hash.js';
export { vxlanOverheadBytes, overlayMtuMin, overlayMtu, vtepMac } from './vtep.js';
export {
  overlayPortDefault, vniMin, vniMax, defaultDeviceName, defaultBridgeName, describeNetwork, type OverlayNetwork,
} from './network.js';
export {
  peersMax, parsePeers, peerMac, describePeer, validatePeers, type OverlayPeer, type OverlayPeerSource,
} from './peer.js';
export { StaticPeerSource } from './static-source.js';
export { MemoryPeerSource, watchersMax } from './memory-source.js';
export {
  nextHopOf, gatewayOf, planPeerEntries, diffPeerEntries, isEmptyDiff, describeDiff, noPeerEntries,
  type PeerEntries, type PeerEntriesDiff, type FdbEntrySpec, type NeighbourEntrySpec, type RouteEntrySpec, type RouteVia,
  type PlanInput,
} from './plan.js';
export { overlayRouteProtocol, OverlayRouteOps, listOverlayRoutes, type OverlayRouteSpec } from './routes.js';
export { findLocalPeer, requireLocalPeer, type LocalPeer } from './local.js';
export { ensureOverlayHost, inspectOverlayHost, removeOverlayHost, type OverlayHost } from './host.js';
export {
  readPeerEntries, applyPeerDiff, syncPeerEntries, missingPeerEntries, describeEntries, devicesOf,
  type PeerDevices, type PeerSyncReport,
} from './program.js';
export { reconcileOverlay, type ReconcileReport } from './reconcile.js';
export { OverlayController, syncsPerDrainMax, type OverlayControllerOptions } from './controller.js';
export {
  hostSubnetsMax, hostPrefixLengthDefault, hostPrefixLengthMax, hostPrefixLengthFor, hostSubnetCandidates, chooseHostSubnet,
  type HostSubnetChoice,
} from './host-subnets.js';
export { clusterVniFirst, chooseVni } from './vni-choice.js';
