import { clientUrl, fetchMemberStatus, type ClusterNode } from '@berth/secrets';

export interface Sample {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  /** `suffix` names a histogram's series (`_bucket`, `_sum`, `_count`). */
  readonly values: ReadonlyArray<{ labels?: Record<string, string>; value: number; suffix?: string }>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Prometheus text exposition format 0.0.4. */
export function renderPrometheus(samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const sample of samples) {
    if (sample.values.length === 0) continue;
    lines.push(`# HELP ${sample.name} ${sample.help}`, `# TYPE ${sample.name} ${sample.type}`);
    for (const { labels, value, suffix } of sample.values) {
      const labelText = labels === undefined ? '' : `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      lines.push(`${sample.name}${suffix ?? ''}${labelText} ${Number.isFinite(value) ? value : 'NaN'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What berthd exports: membership, the local etcd member's raft view, store use, watch lag. No secret, no key. */
export async function collectMetrics(node: ClusterNode, statusTimeoutMs: number, extra: readonly Sample[] = []): Promise<string> {
  const active = node.active;
  const samples: Sample[] = [
    { name: 'berth_up', help: 'berthd is serving', type: 'gauge', values: [{ value: 1 }] },
    { name: 'berth_cluster_active', help: 'this host is in a cluster', type: 'gauge', values: [{ value: active === undefined ? 0 : 1, labels: { role: active?.state.role ?? 'none' } }] },
  ];
  if (active !== undefined) {
    samples.push({ name: 'berth_liveness_lease_held', help: 'berthd holds its liveness lease', type: 'gauge', values: [{ value: active.liveness.holding ? 1 : 0 }] });
    const counts = await node.counts().catch(() => undefined);
    if (counts !== undefined) {
      samples.push(
        { name: 'berth_cluster_hosts', help: 'hosts in the cluster', type: 'gauge', values: [{ value: counts.hosts }] },
        { name: 'berth_cluster_hosts_alive', help: 'hosts whose berthd holds its lease', type: 'gauge', values: [{ value: counts.alive }] },
      );
    }
    const member = active.member;
    if (member !== undefined && active.state.member !== undefined) {
      samples.push(
        { name: 'berth_etcd_member_running', help: 'the supervised etcd process is running', type: 'gauge', values: [{ value: member.state === 'running' ? 1 : 0 }] },
        { name: 'berth_etcd_member_restarts_total', help: 'restarts of the etcd member by its supervisor', type: 'counter', values: [{ value: member.restartsTotal }] },
      );
      const status = await fetchMemberStatus(
        { ID: '', name: active.state.nodeId, peerURLs: [], clientURLs: [clientUrl('127.0.0.1', active.state.member.clientPort)], isLearner: false },
        active.tls, statusTimeoutMs,
      );
      samples.push(
        { name: 'berth_etcd_member_healthy', help: 'the local member answers and sees a leader', type: 'gauge', values: [{ value: status.healthy ? 1 : 0 }] },
        { name: 'berth_etcd_is_leader', help: 'the local member is the raft leader', type: 'gauge', values: [{ value: status.leader ? 1 : 0 }] },
        { name: 'berth_etcd_raft_term', help: 'raft term seen by the local member', type: 'gauge', values: status.raftTerm === undefined ? [] : [{ value: status.raftTerm }] },
        { name: 'berth_etcd_raft_index', help: 'raft index of the local member', type: 'gauge', values: status.raftIndex === undefined ? [] : [{ value: status.raftIndex }] },
      );
    }
  }
  const store = node.storeMetrics.snapshot();
  samples.push(
    { name: 'berth_store_ops_total', help: 'store operations by kind', type: 'counter', values: Object.entries(store.ops).map(([op, value]) => ({ labels: { op }, value })) },
    {
      name: 'berth_store_errors_total', help: 'failed store operations by kind and code', type: 'counter',
      values: Object.entries(store.errors).map(([label, value]) => {
        const [op = '', code = ''] = label.split(':');
        return { labels: { op, code }, value };
      }),
    },
    { name: 'berth_store_watch_lag_revisions', help: 'largest gap between the store revision and what a watch delivered', type: 'gauge', values: [{ value: store.watchLagRevisionsMax }] },
    { name: 'berth_store_watch_resyncs_total', help: 'watch resyncs after compaction', type: 'counter', values: [{ value: store.watchResyncs }] },
  );
  samples.push(...extra);
  return renderPrometheus(samples);
}
