/**
 * Where the exec'd berth-firewall registers: the state files on a host that never joined a cluster (no socket
 * call at all); berthd's local API on a joined host, and a clear "try again" (CNI 11) when berthd does not answer,
 * never a fall-back to the state files. berthd's answers keep their meaning as CNI codes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CniRequest } from '@berth/cni';
import { execRegistryFor } from '../../src/plugin/registry.js';

const request = {} as CniRequest;

t.test('a host that never joined a cluster uses the state files', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bt-reg-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.equal(await execRegistryFor({ BERTH_ROOT: root, BERTH_SOCKET: join(root, 'none.sock') })(request), undefined);
});

t.test('a joined host goes through berthd; berthd down is CNI 11; berthd\'s refusals keep their meaning', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bt-reg-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'cluster'));
  writeFileSync(join(root, 'cluster', 'state.json'), '{}');
  const socket = join(root, 'berthd.sock');
  const down = await execRegistryFor({ BERTH_ROOT: root, BERTH_SOCKET: socket })(request);
  t.ok(down !== undefined, 'the registry is berthd\'s');
  await t.rejects(down?.register({ namespace: 'x', name: 'a', labels: {}, ips: ['10.0.0.2'], interface: '', namedPorts: [], network: 'n', containerId: 'c', ifName: 'eth0' }) ?? Promise.resolve(),
    { code: 11, message: /registers endpoints through berthd, which does not answer/ });

  const answers: Record<string, [number, object]> = {
    '/v1/endpoints': [400, { error: { code: 'REQUEST_INVALID', message: 'Invalid request: bad' } }],
    '/v1/endpoints/gc': [503, { error: { code: 'UNAVAILABLE', message: 'berthd has not loaded the cluster\'s policies yet; try again' } }],
    '/v1/policy/status': [200, { enforcing: true }],
  };
  const server = createServer((req, res) => {
    const [status, body] = answers[req.url ?? ''] ?? [404, { error: { code: 'NOT_FOUND', message: 'no' } }];
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const up = await execRegistryFor({ BERTH_ROOT: root, BERTH_SOCKET: socket })(request);
  await t.rejects(up?.register({ namespace: 'x', name: 'a', labels: {}, ips: ['10.0.0.2'], interface: '', namedPorts: [], network: 'n', containerId: 'c', ifName: 'eth0' }) ?? Promise.resolve(), { code: 7 });
  await t.rejects(up?.collect('n', []) ?? Promise.resolve(), { code: 11, message: /not loaded the cluster's policies yet/ });
  t.equal(await up?.enforcing(), true);
});
