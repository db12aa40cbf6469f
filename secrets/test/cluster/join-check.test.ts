import t from 'tap';
import { createClusterCa, newClusterId } from '../../src/cluster/ca.js';
import { checkJoinResponse } from '../../src/cluster/join-flow.js';
import type { JoinResponse } from '../../src/cluster/join-protocol.js';
import { createNodeKeyAndCsr, issueAdminCertificate, issueNodeCertificate, newNodeId } from '../../src/cluster/node-cert.js';

const clusterId = newClusterId();
const ca = await createClusterCa({ clusterId });
const otherCa = await createClusterCa({ clusterId: newClusterId() });
const joiner = await createNodeKeyAndCsr();
const someoneElse = await createNodeKeyAndCsr();
const nodeId = newNodeId();
const issue = (csrPem: string, role: 'manager' | 'worker', id = nodeId) => issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId: id, role, addresses: ['10.0.0.7'] });
const managerAnswer: JoinResponse = {
  clusterId, nodeId, role: 'manager', certificatePem: await issue(joiner.csrPem, 'manager'),
  adminCertificatePem: await issueAdminCertificate({ ca, subjectKey: { csrPem: joiner.csrPem }, nodeId }),
  caCertificatePem: ca.certificatePem, caPrivateKeyPem: ca.privateKeyPem, clientUrls: ['https://10.0.0.1:2379'],
  member: { memberId: '1', clusterToken: `berth-${clusterId}`, initialCluster: [{ name: nodeId, peerUrl: 'https://10.0.0.7:2380' }] },
  clusterKey: { kekId: 'k1', key: 'AAAA', autolock: false },
};
const workerAnswer: JoinResponse = { ...managerAnswer, role: 'worker', certificatePem: await issue(joiner.csrPem, 'worker'), adminCertificatePem: undefined, caPrivateKeyPem: undefined, member: undefined, clusterKey: undefined };
const expected = { caPem: ca.certificatePem, keyPem: joiner.privateKeyPem };

t.test('the joiner accepts an answer it can check end to end', async (t) => {
  await checkJoinResponse(managerAnswer, expected);
  await checkJoinResponse(workerAnswer, expected);
  t.pass('manager and worker answers accepted');
});

t.test('the joiner refuses answers that do not carry its own key, id, role or CA', async (t) => {
  const cases: Array<[string, JoinResponse, RegExp]> = [
    ['a certificate for another key', { ...workerAnswer, certificatePem: await issue(someoneElse.csrPem, 'worker') }, /not for this host's key/],
    ['a certificate naming another node', { ...workerAnswer, certificatePem: await issue(joiner.csrPem, 'worker', newNodeId()) }, /does not name the assigned node id/],
    ['a manager certificate in a worker answer', { ...workerAnswer, certificatePem: managerAnswer.certificatePem }, /does not name the assigned node id and role/],
    ['a CA key that is not the CA certificate\'s', { ...managerAnswer, caPrivateKeyPem: otherCa.privateKeyPem }, /CA key received does not match/],
    ['an admin certificate for another key', { ...managerAnswer, adminCertificatePem: await issueAdminCertificate({ ca, subjectKey: { csrPem: someoneElse.csrPem }, nodeId }) }, /admin certificate received is not this node's/],
    ['an admin certificate from another CA', { ...managerAnswer, adminCertificatePem: await issueAdminCertificate({ ca: otherCa, subjectKey: { csrPem: joiner.csrPem }, nodeId }) }, /admin certificate received is not this node's/],
    ['a worker answer with the CA key', { ...workerAnswer, caPrivateKeyPem: ca.privateKeyPem }, /must not receive the CA key/],
    ['another CA than the pinned one', { ...workerAnswer, caCertificatePem: otherCa.certificatePem }, /different CA/],
  ];
  for (const [name, answer, message] of cases) await t.rejects(checkJoinResponse(answer, expected), { message }, name);
});
