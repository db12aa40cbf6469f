export {
  OverlayCluster, ClusterCallError, clusterHostsMax, containersPerHostMax, underlayOutsideAddress, overlayRange,
  overlayNetworkName, type OverlayClusterOptions, type ClusterHost, type ClusterContainer,
} from './cluster.js';
export { bulkTransfer, openLongConnection, startCapture, capturedPackets, type TransferOutcome, type LongConnection, type Capture } from './traffic.js';
export { overlayScenarios, type OverlayScenario, type OverlayScenarioContext } from './scenarios.js';
export { runOverlayScenario, runOverlayConformance } from './runner.js';
