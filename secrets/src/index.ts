export {};
export { ClusterError, ClusterErrorCode, type ClusterErrorCodeValue } from './cluster/errors.js';
export { createClusterCa, loadClusterCa, clusterIdOfCa, newClusterId, type ClusterCaPem } from './cluster/ca.js';
export { certificateFingerprint } from './cluster/pki.js';
export {
  createNodeKeyAndCsr, issueNodeCertificate, verifyNodeCertificate, newNodeId, isNodeRole, nodeRoles,
  type NodeRole, type NodeIdentity,
} from './cluster/node-cert.js';
export {
  formatJoinToken, parseJoinToken, authorizeJoinToken, newJoinTokenRecord, joinSecretMatches,
  type JoinToken, type JoinTokenRecord,
} from './cluster/join-token.js';
