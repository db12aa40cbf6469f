/** The console's page bodies, built from the local API's JSON; every field is named (never "all fields") and escaped. */
import { hitFlow, type MonitorHit } from '@berth/firewall';
import { escapeHtml, notice, table } from './html.js';
import type { Matrix } from './matrix.js';

export const verdictColumns = ['policy', 'verb', 'direction', 'chain', 'packets', 'bytes'] as const;
export const historyColumns = ['at', 'action', 'version', 'service', 'node', 'uid', 'detail'] as const;

export function matrixBody(matrix: Matrix, query: { protocol: string; port: string }): string {
  const n = matrix.endpoints.length;
  const head = matrix.endpoints.map((to) => `<th scope="col">${escapeHtml(to)}</th>`).join('');
  const rows = matrix.endpoints.map((from, i) => {
    const cells = matrix.endpoints.map((_, j) => {
      const cell = matrix.cells[i * n + j];
      if (cell === undefined) throw new Error('matrixBody: missing cell');
      const label = cell.verdict === 'none' ? '–' : `${cell.verdict} · ${cell.tier ?? ''}`;
      return `<td class="cell v-${escapeHtml(cell.verdict)}" data-from="${escapeHtml(cell.from)}" data-to="${escapeHtml(cell.to)}" data-verdict="${escapeHtml(cell.verdict)}"`
        + ` data-tier="${escapeHtml(cell.tier)}" title="${escapeHtml(cell.policy ?? 'no policy decides')}">${escapeHtml(label)}</td>`;
    }).join('');
    return `<tr><th scope="row">${escapeHtml(from)}</th>${cells}</tr>`;
  }).join('');
  const form = `<form method="get" action="/console"><label>protocol <input name="protocol" value="${escapeHtml(query.protocol)}" size="6"></label>`
    + ` <label>port <input name="port" value="${escapeHtml(query.port)}" size="6"></label> <button>Show</button></form>`;
  const grid = n === 0 ? notice('No endpoints are registered yet.') : `<table id="matrix" data-protocol="${matrix.protocol}" data-port="${matrix.port ?? ''}"><thead><tr><th>from \\ to</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
  return `${form}<p class="legend"><span class="v-allow">allow</span> <span class="v-deny">deny</span> <span class="v-monitor">monitor (would drop)</span> · the tier that decides: admin, networkpolicy, baseline or default. Click a cell for the explanation.</p>`
    + `${grid}<section><h2>Explanation</h2><pre id="explain">Click a cell.</pre></section>`
    + '<section><h2>What if</h2><p>Paste policy YAML: the cells it would change are outlined. Nothing is stored.</p>'
    + '<form id="whatif"><textarea name="text" rows="12" cols="80" spellcheck="false"></textarea><br><label>default namespace <input name="namespace" value="default" size="12"></label> <button>Preview</button></form>'
    + '<pre id="whatif-result"></pre></section>';
}

export interface VerdictRow { policy: string; verb: string; direction: string; chain: string; packets: number; bytes: number }

/** Action chains are named `VERB/DIRECTION/KIND/NAME…` by the compiler (drop/in/np/ns/name, monitor/eg/anp/name/3). */
function describeChain(chain: string): { verb: string; direction: string; policy: string } {
  const [verb = '', direction = '', ...rest] = chain.split('/');
  return { verb, direction: direction === 'in' ? 'ingress' : direction === 'eg' ? 'egress' : direction, policy: rest.join('/') };
}

export function verdictRows(counters: readonly { chain: string; packets: number; bytes: number }[]): VerdictRow[] {
  return counters.map(({ chain, packets, bytes }) => ({ ...describeChain(chain), chain, packets, bytes }));
}

export const dropColumns = ['policy', 'direction', 'from', 'to', 'proto/port', 'age'] as const;
/** The console shows this many of the newest would-be drops (the kernel keeps up to 256 per family). */
export const dropRowsMax = 50;

/** The newest would-be drops first, as the engine lists them; a hit two chains share a tag for names both (`A or B`). */
export function dropRows(hits: readonly MonitorHit[]): Record<(typeof dropColumns)[number], string>[] {
  return hits.slice(0, dropRowsMax).map((hit) => {
    const chains = hit.chain.split(' or ').map(describeChain);
    return {
      policy: chains.map((chain) => chain.policy).join(' or '), direction: [...new Set(chains.map((chain) => chain.direction))].join(' or '),
      from: hit.source, to: hit.destination, 'proto/port': hitFlow(hit), age: `${hit.secondsAgo} s ago`,
    };
  });
}

export function verdictsBody(content: { counters: readonly VerdictRow[]; drops: readonly Record<string, string>[] } | string): string {
  const counters = typeof content === 'string' ? notice(content) : table(content.counters as unknown as Record<string, unknown>[], verdictColumns, 'verdicts');
  const drops = typeof content === 'string' ? '' : table(content.drops, dropColumns, 'drops');
  return `<p>Drop and monitor (would-drop) packet counters per policy rule, from this host's kernel table; live.</p><div data-live="/console/events/verdicts">${counters}</div>`
    + '<h2>Last would-be drops</h2><p>Packets that policies in monitor mode let through but would drop: the last packet of each source, destination and port in the past 5 minutes, newest first; live.</p>'
    + `<div data-live="/console/events/drops">${drops}</div>`;
}

interface ListedHost {
  nodeId: string; hostname: string; role: string; addresses: string[]; alive: boolean; self: boolean; certificateExpiresAt?: string;
  member?: { healthy?: boolean; leader?: boolean; learner?: boolean; raftTerm?: number; raftIndex?: number };
}

export function clusterBody(listing: { clusterId: string; hosts: ListedHost[]; otherMembers: unknown[] }): string {
  const rows = listing.hosts.map((host) => ({
    host: `${host.hostname}${host.self ? ' (this host)' : ''}`, node: host.nodeId, role: host.role, addresses: host.addresses.join(', '),
    alive: host.alive ? 'alive' : 'down', 'etcd member': host.member === undefined ? '–' : host.member.learner === true ? 'learner' : host.member.healthy === false ? 'unhealthy' : 'voting',
    leader: host.member?.leader === true ? 'leader' : '', term: host.member?.raftTerm, index: host.member?.raftIndex, 'certificate expires': host.certificateExpiresAt,
  }));
  return `<p>Cluster <code>${escapeHtml(listing.clusterId)}</code>: ${listing.hosts.length} host(s), ${listing.otherMembers.length} other etcd member(s).</p>`
    + table(rows, ['host', 'node', 'role', 'addresses', 'alive', 'etcd member', 'leader', 'term', 'index', 'certificate expires'], 'hosts');
}

interface NetworkDetails {
  name: string; driver: string; subnets: string[]; vni?: number;
  leases: { nodeId: string; hostname: string; subnet: string; vtep: string }[];
}

export function networksBody(networks: readonly NetworkDetails[]): string {
  const rows = networks.map((network) => ({
    name: network.name, driver: network.driver, subnets: network.subnets.join(', '), vni: network.vni,
    hosts: network.leases.length === 0 ? '–' : network.leases.map((lease) => `${lease.hostname} ${lease.subnet} (VTEP ${lease.vtep})`).join('; '),
  }));
  return table(rows, ['name', 'driver', 'subnets', 'vni', 'hosts'], 'networks');
}

interface ListedSecret { name: string; labels: Record<string, string>; current: number; latest: number; versions: number; updatedAt: string }

export function secretsBody(secrets: ListedSecret[]): string {
  const rows = secrets.map((secret) => ({ ...secret, labels: Object.entries(secret.labels).map(([key, value]) => `${key}=${value}`).join(', ') }));
  const body = rows.map((row) => `<tr><td><a href="/console/secrets/${encodeURIComponent(row.name)}">${escapeHtml(row.name)}</a></td>${(['labels', 'current', 'latest', 'versions', 'updatedAt'] as const).map((column) => `<td>${escapeHtml(row[column])}</td>`).join('')}</tr>`).join('');
  return '<p>Metadata only: a secret\'s value is never sent to the console.</p>'
    + `<table id="secrets"><thead><tr><th>name</th><th>labels</th><th>current</th><th>latest</th><th>versions</th><th>updated</th></tr></thead><tbody>${body}</tbody></table>`;
}

interface SecretDetails {
  name: string; current: number; versions: { version: number; createdAt: string; bytes: number }[];
  grants: { service: string; target: string; uid: number; gid: number; mode: number; nodes: string[]; createdAt: string }[];
}

export function secretBody(details: SecretDetails, history: readonly Record<string, unknown>[]): string {
  const versions = details.versions.map((version) => ({ ...version, current: version.version === details.current ? 'current' : '' }));
  const grants = details.grants.map((grant) => ({ ...grant, mode: `0${grant.mode.toString(8)}`, nodes: grant.nodes.length === 0 ? 'all' : grant.nodes.join(', ') }));
  return `<h2>Versions</h2>${table(versions, ['version', 'current', 'createdAt', 'bytes'], 'versions')}`
    + `<h2>Grants</h2>${table(grants, ['service', 'target', 'uid', 'gid', 'mode', 'nodes', 'createdAt'], 'grants')}`
    + `<h2>History</h2><div data-live="/console/events/secrets/${encodeURIComponent(details.name)}">${table(history, historyColumns, 'history')}</div>`;
}
