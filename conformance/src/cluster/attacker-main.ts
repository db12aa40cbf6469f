/**
 * The attacker of the escalation suite: a process in a test host's namespace holding a node's certificate and key
 * (a stolen worker), trying what that identity must not do through the etcd3 client (the one berthd uses). Config is
 * argv[2] (JSON); batches of attempts arrive as JSON lines on stdin, their outcomes leave as JSON lines on stdout.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { createInterface } from 'node:readline';
import { openEtcdClient, type EtcdKvStore } from '@berth/secrets';

export interface AttackerConfig {
  readonly endpoints: readonly string[];
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export type Attempt = { readonly name: string; readonly fresh?: boolean } & (
  | { readonly op: 'range'; readonly key: string; readonly rangeEnd?: string }
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly leaseOfKey?: string; readonly ownLease?: boolean }
  | { readonly op: 'delete'; readonly key: string; readonly rangeEnd?: string }
  | { readonly op: 'memberAdd'; readonly peerUrl: string }
  | { readonly op: 'memberRemove' | 'memberPromote'; readonly memberName: string }
  | { readonly op: 'leaseRevokeOfKey'; readonly key: string }
  | { readonly op: 'userGrantRole'; readonly user: string; readonly role: string }
  | { readonly op: 'roleGrantPermission'; readonly role: string; readonly key: string; readonly rangeEnd: string }
  | { readonly op: 'authDisable' }
  | { readonly op: 'tlsHandshake'; readonly host: string; readonly port: number }
  | { readonly op: 'managerEndpoint'; readonly host: string; readonly port: number; readonly path: string }
  | { readonly op: 'snapshot' }
  /** Replace the long-lived connection with one made from the files as they are now (e.g. after a renewal). */
  | { readonly op: 'reopen'; readonly endpoints?: readonly string[] }
);

export interface AttemptResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly detail?: unknown;
}

const config = JSON.parse(process.argv[2] ?? '{}') as AttackerConfig;
const tls = (): { caPem: string; certPem: string; keyPem: string } => ({
  caPem: readFileSync(config.caFile, 'utf8'), certPem: readFileSync(config.certFile, 'utf8'), keyPem: readFileSync(config.keyFile, 'utf8'),
});
const open = (endpoints = config.endpoints): EtcdKvStore => openEtcdClient({ endpoints, tls: tls(), limits: { requestTimeoutMs: 3_000, readAttemptsMax: 1, dialTimeoutMs: 3_000 }, hostFailover: 'none' });
let longLived = open();

async function leaseOf(store: EtcdKvStore, key: string): Promise<string> {
  const lease = (await store.client.kv.range({ key: Buffer.from(key) })).kvs[0]?.lease;
  if (lease === undefined || lease === '0') throw new Error(`no lease on ${key}`);
  return lease;
}

async function memberId(store: EtcdKvStore, name: string): Promise<string> {
  const member = (await store.client.cluster.memberList({})).members.find((m) => m.name === name);
  if (member === undefined) throw new Error(`no member ${name}`);
  return member.ID;
}

/**
 * A TLS connection with this identity. With TLS 1.3 the client finishes its side before the server has judged the
 * client certificate, so a refusal arrives as an alert just after: admitted means still open (or answered) 1.5 s
 * after the handshake, refused means an error or a close without an answer.
 */
function handshake(host: string, port: number): Promise<unknown> {
  const identity = tls();
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca: identity.caPem, cert: identity.certPem, key: identity.keyPem, checkServerIdentity: () => undefined });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(() => settle(() => reject(new Error('no handshake within 3 s'))), 3_000);
    socket.once('secureConnect', () => {
      socket.write('GET /version HTTP/1.1\r\nHost: peer\r\n\r\n');
      setTimeout(() => settle(() => resolve('admitted: still connected 1.5 s after the handshake')), 1_500);
    });
    socket.on('data', (chunk: Buffer) => settle(() => resolve(`admitted: ${chunk.toString().split('\r\n')[0] ?? ''}`)));
    socket.once('error', (error) => settle(() => reject(error)));
    socket.once('close', () => settle(() => reject(new Error('connection closed without an answer'))));
  });
}

/** A POST to a manager's endpoint as this node (client certificate), answering status and body. */
function managerEndpoint(host: string, port: number, path: string): Promise<unknown> {
  const identity = tls();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'POST', ca: identity.caPem, cert: identity.certPem, key: identity.keyPem, agent: false, timeout: 5_000, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end('{}');
  });
}

/** What an administrator sees (for before/after comparisons): every key and value, members, users, roles. */
async function snapshot(store: EtcdKvStore): Promise<unknown> {
  const client = store.client;
  const kvs = (await client.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) })).kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), lease: kv.lease }));
  const members = (await client.cluster.memberList({})).members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, isLearner: m.isLearner }));
  const users: Record<string, string[]> = {};
  for (const name of (await client.auth.userList()).users) users[name] = (await client.auth.userGet({ name })).roles;
  const roles: Record<string, string[]> = {};
  for (const role of (await client.auth.roleList()).roles) {
    roles[role] = (await client.auth.roleGet({ role })).perm.map((p) => `${p.permType} ${p.key.toString()} ${p.range_end.toString()}`).sort();
  }
  return { kvs, members, users, roles };
}

async function run(store: EtcdKvStore, attempt: Attempt): Promise<unknown> {
  const client = store.client;
  switch (attempt.op) {
    case 'range': {
      const response = await client.kv.range({ key: Buffer.from(attempt.key), ...(attempt.rangeEnd === undefined ? {} : { range_end: Buffer.from(attempt.rangeEnd) }), keys_only: true });
      return { keys: response.kvs.length };
    }
    case 'put': {
      let lease: string | undefined;
      if (attempt.leaseOfKey !== undefined) lease = await leaseOf(store, attempt.leaseOfKey);
      if (attempt.ownLease === true) lease = (await client.leaseClient.leaseGrant({ TTL: 5 })).ID;
      await client.kv.put({ key: Buffer.from(attempt.key), value: Buffer.from(attempt.value), ...(lease === undefined ? {} : { lease }) });
      return { lease };
    }
    case 'delete':
      return { deleted: (await client.kv.deleteRange({ key: Buffer.from(attempt.key), ...(attempt.rangeEnd === undefined ? {} : { range_end: Buffer.from(attempt.rangeEnd) }) })).deleted };
    case 'memberAdd':
      return (await client.cluster.memberAdd({ peerURLs: [attempt.peerUrl], isLearner: true })).member.ID;
    case 'memberRemove':
      return client.cluster.memberRemove({ ID: await memberId(store, attempt.memberName) }).then(() => 'removed');
    case 'memberPromote':
      return client.cluster.memberPromote({ ID: await memberId(store, attempt.memberName) }).then(() => 'promoted');
    case 'leaseRevokeOfKey':
      return client.leaseClient.leaseRevoke({ ID: await leaseOf(store, attempt.key) }).then(() => 'revoked');
    case 'userGrantRole':
      return client.auth.userGrantRole({ user: attempt.user, role: attempt.role }).then(() => 'granted');
    case 'roleGrantPermission':
      return client.auth.roleGrantPermission({ name: attempt.role, perm: { permType: 'Readwrite', key: Buffer.from(attempt.key), range_end: Buffer.from(attempt.rangeEnd) } }).then(() => 'granted');
    case 'authDisable':
      return client.auth.authDisable().then(() => 'disabled');
    case 'tlsHandshake':
      return handshake(attempt.host, attempt.port);
    case 'managerEndpoint':
      return managerEndpoint(attempt.host, attempt.port, attempt.path);
    case 'snapshot':
      return snapshot(store);
    case 'reopen': {
      const previous = longLived;
      longLived = open(attempt.endpoints);
      await previous.close();
      return 'reopened';
    }
  }
}

async function attempt(item: Attempt): Promise<AttemptResult> {
  const store = item.fresh === true ? open() : longLived;
  try {
    return { name: item.name, ok: true, detail: await run(store, item) };
  } catch (error) {
    return { name: item.name, ok: false, error: error instanceof Error ? (error.message.split('\n')[0] ?? '').slice(0, 300) : String(error) };
  } finally {
    if (store !== longLived) await store.close();
  }
}

process.on('warning', () => undefined);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { id, attempts } = JSON.parse(line) as { id: number; attempts: Attempt[] };
  const results: AttemptResult[] = [];
  for (const item of attempts) results.push(await attempt(item));
  process.stdout.write(`${JSON.stringify({ id, results })}\n`);
}
await longLived.close();
process.stdout.write('', () => process.exit(0));
