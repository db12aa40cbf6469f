export {};
export { ClusterError, ClusterErrorCode, type ClusterErrorCodeValue } from './cluster/errors.js';
export { createClusterCa, loadClusterCa, clusterIdOfCa, newClusterId, type ClusterCaPem } from './cluster/ca.js';
export { certificateFingerprint } from './cluster/pki.js';
export {
  createNodeKeyAndCsr, issueNodeCertificate, issueAdminCertificate, verifyNodeCertificate, newNodeId, assertNodeId, isNodeRole, nodeRoles, managerPeerName,
  nodeCertificateValiditySecondsDefault, nodeCertificateValiditySecondsMin, assertValiditySeconds,
  type NodeRole, type NodeIdentity,
} from './cluster/node-cert.js';
export {
  formatJoinToken, parseJoinToken, authorizeJoinToken, newJoinTokenRecord, joinSecretMatches, openJoinSecret, sealJoinSecret,
  type JoinToken, type JoinTokenRecord,
} from './cluster/join-token.js';
export {
  etcdArguments, validateEtcdMemberConfig, etcdTimingTuned, etcdTimingEtcdDefault, clientUrl, peerUrl,
  etcdClientPortDefault, etcdPeerPortDefault, quotaBackendBytesDefault, autoCompactionRetentionDefault,
  type EtcdMemberConfig, type EtcdTiming, type EtcdPeer, type EtcdTlsFiles,
} from './cluster/etcd-config.js';
export { EtcdMember, etcdSupervisorLimitsDefault, terminate, type EtcdMemberEvent, type EtcdMemberState, type EtcdSupervisorLimits } from './cluster/etcd-member.js';
export { etcdHealthy, waitForEtcdHealthy, etcdHttpGet, type ProbeTls } from './cluster/etcd-probe.js';
export { findEtcdProcesses, findOwnEtcdProcesses, readProcess, readProcessArgv, isAlive, isSameProcess, type ProcessEntry } from './cluster/process-table.js';
export { StoreError, StoreErrorCode, type StoreErrorCodeValue } from './store/errors.js';
export { toRevision, absent, type Revision } from './store/revision.js';
export { isPrefixCompare } from './store/kv-store.js';
export type { KvStore, KeyValue, GetResult, ListResult, Compare, PrefixCompare, AnyCompare, TxnOp, TxnResult, WatchEvent, WatchOptions, WatchHandle, Lease } from './store/kv-store.js';
export { EtcdKvStore, etcdKvStoreLimitsDefault, type EtcdKvStoreOptions, type EtcdKvStoreLimits, type EtcdTls } from './store/etcd-kv-store.js';
export { MemoryKvStore } from './store/memory-kv-store.js';
export { defineCollection, keyspaceRoot, assertKeyId, type Collection } from './store/keyspace.js';
export { Store, Transaction, type Versioned, type Change, type TypedWatchOptions } from './store/typed-store.js';
export { StoreMetrics, type StoreMetricsSnapshot, type StoreOp } from './store/metrics.js';
export { ClusterNode, clusterNodeLimitsDefault, type ClusterNodeOptions, type ClusterNodeLimits, type ActiveCluster } from './cluster/cluster-node.js';
export { initCluster, type InitResult } from './cluster/init-flow.js';
export { removeNode, revokeNode, handleRenewalRequest, handleLeaveRequest, authenticateNode } from './cluster/revocation.js';
export { renewCertificate, renewalDueAt, sameKey } from './cluster/renewal.js';
export { accessTable, accessTableMarkdown, ownKey, adminUserName, nodeRoleName, managerRoleName, workerRoleName, type AccessRow } from './cluster/access.js';
export { buildCrl } from './cluster/crl.js';
export { requireManagerServer, openEtcdClient } from './cluster/server-identity.js';
export { plainAddress } from './cluster/join-handler.js';
export { writeFileDurably, assertOwnDirectory } from './cluster/secure-file.js';
export { joinCluster, checkJoinResponse, type JoinResult } from './cluster/join-flow.js';
export { handleJoinRequest } from './cluster/join-handler.js';
export { leaveCluster } from './cluster/leave-flow.js';
export { listCluster, type ClusterListing, type HostStatus } from './cluster/cluster-listing.js';
export { fetchMemberStatus, type MemberStatus } from './cluster/member-status.js';
export {
  joinPortDefault, joinBodyBytesMax, parseJoinRequest, parseJoinResponse, parseAddressWithPort, errorBody, errorFromBody, httpStatusOf,
  type JoinRequest, type JoinResponse,
} from './cluster/join-protocol.js';
export { fetchPinnedCa, postJoin } from './cluster/join-client.js';
export { nodePaths, loadNodeState, type NodePaths, type NodeState, type MemberState } from './cluster/node-state.js';
export { clusterInfoCollection, hostsCollection, aliveCollection, joinTokensCollection, issuedCollection, revokedCollection, type HostRecord, type AliveRecord, type ClusterInfo, type RevokedRecord } from './cluster/keys.js';
export { Liveness } from './cluster/liveness.js';
export { SecretError, SecretErrorCode, isSecretErrorCode, type SecretErrorCodeValue } from './secrets/errors.js';
export {
  secretBytesMax, assertSecretName, assertServiceName, parseLabels, parseLabelArgument, parseGrantOptions, parseModeArgument, type GrantOptions,
} from './secrets/names.js';
export { loadSodium } from './secrets/sodium.js';
export { zero } from './secrets/crypto.js';
export { Keyring, type KeyringState } from './secrets/keyring.js';
export { SecretService, type SecretSummary, type SecretDetails } from './secrets/secret-service.js';
export { rotateClusterKey, type KeyRotationResult } from './secrets/key-rotation.js';
export { Dispatcher, parseAssignmentsRequest, type AssignmentsRequest, type AssignmentsResponse, type TaskAssignment, type AssignedSecret } from './secrets/dispatcher.js';
export { readAudit, type Actor } from './secrets/audit.js';
export { secretMetaCollection, tasksCollection, type AuditEntry, type GrantRecord, type TaskRecord } from './secrets/schema.js';
export { DeliveryAgent, parseTaskInput, assertContainerId, type TaskView } from './delivery/agent.js';
export { DeliveryMetrics, lagBucketsMs } from './delivery/metrics.js';
export { DispatchClient, type ManagerAddress } from './delivery/dispatch-client.js';
export { secretsDirOf, secretsRoot, isMountPoint, unmountSecretsTmpfs } from './delivery/tmpfs.js';
export { SourceRateLimiter } from './cluster/rate-limit.js';
export { bootstrapAuth, grantNodeAccess, revokeNodeAccess, ensureSharedRoles } from './cluster/etcd-auth.js';
export {
  networkDrivers, reservedOptionKeys, parseNetworkRecord, parseOverlayLease, canonicalCidr, networksCollection, overlayLeasesCollection, overlayPrefix,
  type NetworkDriver, type NetworkRecord, type OverlayLeaseRecord, type JsonValue,
} from './networks/schema.js';
export { createNetwork, removeNetwork, networkWriteAttemptsMax, type NetworkRequest } from './networks/network-store.js';
export {
  claimHostSubnet, listOverlayLeases, decodeOverlayLease, leasesOf, claimAttemptsMax, type ClaimRequest, type StoredLease,
} from './networks/overlay-leases.js';
