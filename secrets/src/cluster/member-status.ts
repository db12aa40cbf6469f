import type { EtcdTls } from '../store/etcd-kv-store.js';
import { openEtcdClient } from './server-identity.js';

/** One etcd member as `berth cluster ls` and /metrics show it. */
export interface MemberStatus {
  readonly memberId: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly learner: boolean;
  /** Answered a status call and sees a leader. */
  readonly healthy: boolean;
  readonly leader: boolean;
  readonly raftTerm: number | undefined;
  readonly raftIndex: number | undefined;
  readonly error: string | undefined;
}

export interface MemberIdentity {
  readonly ID: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** Asks one member for its own view (status RPC on its client URL), bounded by `timeoutMs`. */
export async function fetchMemberStatus(member: MemberIdentity, tls: EtcdTls, timeoutMs: number): Promise<MemberStatus> {
  const base = { memberId: member.ID, name: member.name, peerUrls: member.peerURLs, clientUrls: member.clientURLs, learner: member.isLearner };
  const url = member.clientURLs[0];
  if (url === undefined) return { ...base, healthy: false, leader: false, raftTerm: undefined, raftIndex: undefined, error: 'not started' };
  const probe = openEtcdClient({ endpoints: [url], tls, limits: { requestTimeoutMs: timeoutMs, readAttemptsMax: 1, dialTimeoutMs: timeoutMs }, hostFailover: 'none' });
  try {
    const status = await probe.client.maintenance.status();
    const leaderId = status.leader;
    return {
      ...base,
      healthy: leaderId !== '0' && status.errors.length === 0,
      leader: leaderId === status.header.member_id,
      raftTerm: Number(status.raftTerm),
      raftIndex: Number(status.raftIndex),
      error: status.errors.length > 0 ? status.errors.join('; ') : undefined,
    };
  } catch (error) {
    return { ...base, healthy: false, leader: false, raftTerm: undefined, raftIndex: undefined, error: error instanceof Error ? error.message.slice(0, 200) : String(error) };
  } finally {
    await probe.close();
  }
}
