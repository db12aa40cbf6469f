import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { createClusterCa, newClusterId } from '../../src/cluster/ca.js';
import { DispatchClient, type OwnDispatcher } from '../../src/delivery/dispatch-client.js';
import type { AssignmentsRequest, AssignmentsResponse } from '../../src/secrets/dispatcher.js';
import { SecretError, SecretErrorCode } from '../../src/secrets/errors.js';

const ca = await createClusterCa({ clusterId: newClusterId() });
const tls = { caPem: ca.certificatePem, certPem: ca.certificatePem, keyPem: ca.privateKeyPem };

/** A manager's join port on loopback that hangs up on every connection: it counts who came. */
async function hangingUpManager(t: Test): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, connections: () => connections };
}

/** This host's dispatcher, answering with `answer` (or throwing it) and recording what it was asked. */
function ownDispatcher(answer: AssignmentsResponse | Error): OwnDispatcher & { asked: Array<{ nodeId: string; request: AssignmentsRequest }> } {
  const asked: Array<{ nodeId: string; request: AssignmentsRequest }> = [];
  return {
    nodeId: 'm1',
    asked,
    dispatcher: {
      assignments: (nodeId, request) => {
        asked.push({ nodeId, request });
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
    },
  };
}

const registration: AssignmentsRequest = { have: {}, containerIds: ['c1'], waitMs: 0 };
const answer: AssignmentsResponse = { revision: 7, tasks: [{ containerId: 'c1', fingerprint: 'f', secrets: [] }] };

t.test('on a manager, a registration is answered by its own dispatcher, in process, for its own node id', async (t) => {
  const manager = await hangingUpManager(t);
  const own = ownDispatcher(answer);
  let listed = 0;
  const managers = () => { listed += 1; return Promise.resolve([{ address: '127.0.0.1', port: manager.port }]); };
  const client = new DispatchClient({ tls, managers, own });
  t.teardown(() => client.close());
  t.same(await client.assignments(registration), answer);
  t.same(own.asked, [{ nodeId: 'm1', request: registration }]);
  t.equal(manager.connections(), 0, 'no manager was contacted');
  t.equal(listed, 0, 'nor the managers listed (a store read)');
});

t.test('a locked own dispatcher sends the registration on to the managers, and the failure names both', async (t) => {
  const manager = await hangingUpManager(t);
  const own = ownDispatcher(new SecretError(SecretErrorCode.Locked, 'the cluster is locked'));
  const client = new DispatchClient({ tls, managers: () => Promise.resolve([{ address: '127.0.0.1', port: manager.port }]), own });
  t.teardown(() => client.close());
  await t.rejects(client.assignments(registration), { code: SecretErrorCode.DeliveryFailed, message: /this host: the cluster is locked; 127\.0\.0\.1:\d+: / });
  t.equal(manager.connections(), 1, 'the manager was asked next');
});

t.test('a refusal from the own dispatcher is the answer: no manager is asked', async (t) => {
  const manager = await hangingUpManager(t);
  const own = ownDispatcher(new SecretError(SecretErrorCode.TaskUnknown, 'Container c1 is not registered on node m1'));
  const client = new DispatchClient({ tls, managers: () => Promise.resolve([{ address: '127.0.0.1', port: manager.port }]), own });
  t.teardown(() => client.close());
  await t.rejects(client.assignments(registration), { code: SecretErrorCode.TaskUnknown });
  t.equal(manager.connections(), 0);
});

t.test('long polls go to the join port, never to the own dispatcher (stopping the agent must end them)', async (t) => {
  const manager = await hangingUpManager(t);
  const own = ownDispatcher(answer);
  const client = new DispatchClient({ tls, managers: () => Promise.resolve([{ address: '127.0.0.1', port: manager.port }]), own });
  t.teardown(() => client.close());
  await t.rejects(client.assignments({ have: {}, containerIds: [], waitMs: 1_000 }), { code: SecretErrorCode.DeliveryFailed });
  t.equal(own.asked.length, 0, 'the own dispatcher was not asked');
  t.equal(manager.connections(), 1, 'the manager was');
});
