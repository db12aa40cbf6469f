/**
 * `npm run bench [-- NAME...]`: runs each benchmark script in its own process, one after another (they measure
 * the machine, so never in parallel), and passes their reports through. NAME picks a subset.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const benchmarks: Readonly<Record<string, string>> = {
  'cni-startup': 'CNI executable startup: berth-ipam vs host-local',
  'cni-add-del': 'CNI ADD+DEL: berth-bridge vs the reference bridge',
  overlay: 'VXLAN overlay vs plain bridge+route throughput',
  firewall: 'firewall: policy apply/resync and data-plane cost vs a linear rule list',
  cluster: 'cluster store: writes/s and latency vs raw etcd; leader failover',
  'hooks-run': 'berth run start→exit (none, bridge, bridge+secret) vs runc run with the reference bridge from a hook',
  secrets: 'secrets: create/rotate throughput and latency vs raw etcd puts; rotate → file on another host',
  runtime: 'OCI runtime: berth-runtime vs runc (start-up, state, run of true)',
  trust: 'cluster trust: store writes/s with etcd auth on (least privilege) vs off',
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benchmarks).join(', ')}\n`);
  process.exit(2);
}
let failures = 0;
for (const [name, title] of Object.entries(benchmarks)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stdout.write(`\n### ${name}: ${title}\n`);
  const run = spawnSync(process.execPath, [join(import.meta.dirname, `${name}.js`)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failures += 1;
    process.stdout.write(`bench ${name} failed (exit ${run.status ?? run.signal})\n`);
  }
}
process.exitCode = failures === 0 ? 0 : 1;
