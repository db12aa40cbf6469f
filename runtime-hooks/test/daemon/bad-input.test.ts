import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  EtcdKvStore, clientUrl, createClusterCa, createNodeKeyAndCsr, issueNodeCertificate, newClusterId, newNodeId,
} from '@berth/secrets';
import { childEnv, makeHosts, type BerthdHandle } from './helpers.js';

interface Listing { hosts: unknown[] }

/** Raw HTTPS to a join endpoint (no CA check: these requests are the attacker's). */
function joinEndpoint(host: BerthdHandle, body: string | Buffer, contentType = 'application/json', as: { path: string; cert: string; key: string } | undefined = undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const identity = as === undefined ? {} : { cert: as.cert, key: as.key };
    const req = request({ host: '127.0.0.1', port: host.ports.join, method: 'POST', path: as?.path ?? '/v1/join', rejectUnauthorized: false, agent: false, headers: { 'content-type': contentType }, ...identity }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function rawLocal(host: BerthdHandle, path: string, body: string | Buffer, contentType = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    import('node:http').then(({ request: httpRequest }) => {
      const req = httpRequest({ socketPath: host.socket, method: 'POST', path, agent: false, headers: { 'content-type': contentType } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    }, reject);
  });
}

t.test('bad input is refused with a clear error, and nothing is stored or half-joined', async (t) => {
  const hosts = await makeHosts(t);
  const [manager, joiner, other] = await Promise.all(['m', 'j', 'o'].map((name) => hosts.add(name)));
  if (manager === undefined || joiner === undefined || other === undefined) throw new Error('hosts');
  await Promise.all([manager, joiner, other].map((host) => host.start()));
  const initJson = async (host: BerthdHandle): Promise<{ workerToken: string }> => {
    const result = await host.cli(['cluster', 'init', '-o', 'json']);
    if (result.code !== 0) throw new Error(`init on ${host.name} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as { workerToken: string };
  };
  const init = await initJson(manager);
  const managerToken = (await manager.cli(['cluster', 'join-token', 'manager', '-q'])).stdout.trim();
  const foreign = await initJson(other);

  const rotatedAway = init.workerToken;
  await manager.cli(['cluster', 'join-token', 'worker', '--rotate']);
  const wrongSecret = managerToken.replace(/[0-9a-f]{32}$/, '0'.repeat(32));
  const cases: Array<[string, string, RegExp]> = [
    ['wrong secret', wrongSecret, /Join token rejected/],
    ['rotated-away token', rotatedAway, /Join token rejected/],
    ['token of another cluster', foreign.workerToken, /another cluster/],
    ['malformed token', 'SWMTKN-1-abc', /Invalid join token/],
  ];
  const expiring = (await manager.cli(['cluster', 'join-token', 'manager', '--ttl', '1s', '-q'])).stdout.trim();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  cases.push(['expired token (--ttl 1s)', expiring, /Join token rejected/]);
  for (const [name, token, message] of cases) {
    const result = await joiner.join(token, manager.joinAddress);
    t.equal(result.code, 1, `${name}: non-zero exit`);
    t.match(result.stderr, message, `${name}: ${result.stderr.trim()}`);
    t.notOk(result.stderr.includes(token.slice(-32)) && name !== 'malformed token', `${name}: the secret is not echoed`);
    t.notOk(await stat(join(joiner.root, 'cluster')).then(() => true, () => false), `${name}: nothing half-joined on the joiner`);
  }
  const inArgv = await joiner.cli(['cluster', 'join', wrongSecret, manager.joinAddress]);
  t.equal(inArgv.code, 2, 'a token passed as an argument is refused as a usage error (argv is readable by every user)');
  t.match(inArgv.stderr, /token-file|too many arguments/);
  const missingFile = await joiner.cli(['cluster', 'join', '--token-file', join(hosts.base, 'no-such-file'), manager.joinAddress]);
  t.match(missingFile.stderr, /Cannot read the join token from .*no-such-file: ENOENT/, 'a missing token file is a clear error');
  const after = await manager.api('GET', '/v1/cluster') as Listing & { otherMembers: unknown[] };
  t.equal(after.hosts.length, 1, 'no host record was written');
  t.same(after.otherMembers, [], 'no etcd member was added');

  // hostile bodies on the join endpoint (network-facing): generic answers, the details in the manager's log only
  const validToken = (await manager.cli(['cluster', 'join-token', 'manager', '--rotate', '-q'])).stdout.trim();
  const request = { token: validToken, csrPem: (await createNodeKeyAndCsr()).csrPem, addresses: ['127.0.0.1'], hostname: 'h', etcdClientPort: 1, etcdPeerPort: 2 };
  const endpointCases: Array<[string, string | Buffer, number, RegExp, RegExp, string?]> = [
    ['not JSON', '{"token":', 400, /"Invalid join request"/, /not valid JSON/],
    ['wrong content type', 'token=x', 400, /"Invalid join request"/, /Content-Type/, 'application/x-www-form-urlencoded'],
    ['array body', '[]', 400, /"Invalid join request"/, /JSON object/],
    ['oversized body', Buffer.alloc(200 * 1024, 0x20), 413, /too large/, /./],
    ['unknown field', JSON.stringify({ admin: true }), 400, /"Invalid join request"/, /unknown field/],
    ['a node id chosen by the joiner', JSON.stringify({ ...request, nodeId: 'n000000000001' }), 400, /"Invalid join request"/, /unknown field \\"nodeId\\"/],
    ['an address it does not connect from', JSON.stringify({ ...request, addresses: ['10.9.9.9'] }), 400, /"Invalid join request"/, /10\.9\.9\.9\) is not the one the request comes from \(127\.0\.0\.1\)/],
    ['garbage CSR with a valid token', JSON.stringify({ ...request, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----' }), 400, /"Invalid join request"/, /certificate request/],
  ];
  for (const [name, body, status, answerText, logText, type] of endpointCases) {
    const answer = await joinEndpoint(manager, body, type);
    t.equal(answer.status, status, `join endpoint, ${name}: HTTP ${status}`);
    t.match(answer.body, answerText, `join endpoint, ${name}: ${answer.body.slice(0, 120)}`);
    t.notOk(answer.body.includes(validToken.slice(-32)), `join endpoint, ${name}: the token is not echoed`);
    // the log is written asynchronously: wait (bounded) for the line
    let log = '';
    for (let waitedMs = 0; waitedMs < 3_000 && !logText.test(log); waitedMs += 100) {
      log = await readFile(join(hosts.base, 'm.log'), 'utf8');
      if (!logText.test(log)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.match(log, logText, `join endpoint, ${name}: the detail is in the manager's log`);
  }
  const local = await rawLocal(manager, '/v1/cluster/join', Buffer.alloc(100 * 1024, 0x7b));
  t.equal(local.status, 413, 'local API: oversized body refused');
  t.equal((await rawLocal(manager, '/v1/cluster/join-token', '{"role":"root"}')).status, 400, 'local API: bad role refused');
  t.equal((await rawLocal(manager, '/v1/cluster/leave', '{"force":"yes"}')).status, 400, 'local API: non-boolean force refused');
  t.equal(((await manager.api('GET', '/v1/cluster')) as Listing).hosts.length, 1, 'still nothing stored');

  // certificates: another cluster's, and this cluster's but expired, are refused by etcd
  const caPem = await readFile(join(manager.root, 'cluster', 'ca.crt'), 'utf8');
  const caKeyPem = await readFile(join(manager.root, 'cluster', 'ca.key'), 'utf8');
  const endpoint = clientUrl('127.0.0.1', manager.ports.client);
  const nodeId = newNodeId();
  const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
  const expired = await issueNodeCertificate({ ca: { certificatePem: caPem, privateKeyPem: caKeyPem }, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['127.0.0.1'], validitySeconds: 86_400, now: new Date(Date.now() - 5 * 86_400_000) });
  const otherCa = await createClusterCa({ clusterId: newClusterId() });
  const foreignCert = await issueNodeCertificate({ ca: otherCa, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['127.0.0.1'] });
  for (const [name, certPem] of [['expired certificate', expired], ['foreign certificate', foreignCert]] as const) {
    const store = new EtcdKvStore({ endpoints: [endpoint], tls: { caPem, certPem, keyPem: privateKeyPem }, limits: { readAttemptsMax: 1, requestTimeoutMs: 2_000 }, hostFailover: 'none' });
    await t.rejects(store.get('/berth/v1/cluster/info/cluster'), { code: 'STORE_UNAVAILABLE' }, `${name} refused by etcd`);
    await store.close();
  }

  // another uid cannot use the socket: the kernel refuses connect() (mode 0600, directory 0700)
  const refused = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    // through env -u: tap's process tracker re-adds NODE_OPTIONS to spawned node processes, and uid 65534 cannot write its files
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', `require('node:net').createConnection(${JSON.stringify(manager.socket)}).on('error', (e) => { process.stderr.write(e.code); process.exit(3); }).on('connect', () => process.exit(0));`], {
      uid: 65_534, gid: 65_534, env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  t.equal(refused.code, 3, 'a connection from uid 65534 fails');
  t.equal(refused.stderr, 'EACCES', 'with EACCES');

  // the join endpoint counts requests per source address before anything else
  const statuses: number[] = [];
  for (let i = 0; i < 40; i += 1) statuses.push((await joinEndpoint(manager, '[]')).status);
  t.ok(statuses.includes(429), `a flood from one address is rate-limited (${statuses.filter((s) => s === 429).length} of 40 refused with 429)`);
  t.match((await joinEndpoint(manager, '[]')).body, /RATE_LIMITED/);
  // ... but a member of the cluster (its node certificate) is not counted: from the same flooded address, the
  // dispatcher still answers it (a host's berthd asks for every container it starts)
  const cluster = join(manager.root, 'cluster');
  const [memberCert, memberKey] = await Promise.all([readFile(join(cluster, 'node.crt'), 'utf8'), readFile(join(cluster, 'node.key'), 'utf8')]);
  const member = await joinEndpoint(manager, '{"have":{},"containerIds":[],"waitMs":0}', 'application/json', { path: '/v1/dispatch/assignments', cert: memberCert, key: memberKey });
  t.equal(member.status, 200, `a member's dispatcher call from the flooded address is served: ${member.body.slice(0, 120)}`);
});
