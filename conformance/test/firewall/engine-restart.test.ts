/**
 * The engine fails closed and recovers from the state files: pods on a bridge in a test host; the CLI path
 * builds the table from its state files; an engine in another process takes the namespace over from those files
 * and is SIGKILLed: the table stays and keeps enforcing; a new engine started from the same files rebuilds the
 * same table in one transaction, isolation holding throughout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Firewall, FirewallEngine, FirewallStore, parseDocuments, snapshotOf } from '@berth/firewall';
import { TestHost } from '../../src/harness/index.js';
import { bridgeWithPods, type BridgePod } from '../../src/netpol/bridge-pods.js';
import { ProbeAgent } from '../../src/netpol/probe-agent.js';

const probeTimeoutMs = 500;
const startTimeoutMs = 20_000;
const conformanceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The table as nft lists it, without handles and without the generation element (which every apply changes). */
async function tableText(host: TestHost): Promise<string> {
  const listed = JSON.parse(await host.execChecked(['nft', '-j', 'list', 'table', 'inet', 'berth-firewall'])) as { nftables: Record<string, Record<string, unknown>>[] };
  const objects = listed.nftables.filter((object) => !('metainfo' in object)).map((object) => {
    const [kind, body] = Object.entries(object)[0] as [string, Record<string, unknown>];
    const { handle: _handle, ...rest } = body;
    return JSON.stringify({ [kind]: kind === 'set' && rest['name'] === 'generation' ? { ...rest, elem: null } : rest });
  });
  return objects.sort().join('\n');
}

t.test('a SIGKILLed engine leaves its table enforcing; a restarted one rebuilds the same table from the state files', async (t) => {
  const host = await TestHost.create(t, 'fwrestart');
  const [client, isolated] = (await bridgeWithPods(host, 2, 80)) as [BridgePod, BridgePod];
  const prober = await ProbeAgent.start(t, client.netns.path, []);
  await ProbeAgent.start(t, isolated.netns.path, [80]);
  const root = mkdtempSync(join(tmpdir(), 'bt-fwrestart-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));

  const firewall = new Firewall({ root, netns: host.path });
  for (const [name, pod] of [['client', client], ['isolated', isolated]] as const) {
    await firewall.registerEndpoint({
      namespace: 'x', name, labels: { pod: name }, ips: [pod.ip], interface: pod.hostInterface, namedPorts: [], network: 'test', containerId: name, ifName: 'eth0',
    });
  }
  await firewall.apply('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: isolate, namespace: x}\nspec: {podSelector: {matchLabels: {pod: isolated}}, policyTypes: [Ingress]}\n');
  const built = await tableText(host);
  t.equal(await prober.probe(isolated.ip, 80, 'tcp', probeTimeoutMs), false, 'the CLI path isolates the pod');

  const source = `import { FirewallEngine, FirewallStore, snapshotOf } from '@berth/firewall';
    const { result } = FirewallEngine.start(snapshotOf(new FirewallStore(process.argv[1]).read()), { netns: process.argv[2] });
    process.stdout.write(result.mode + '\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, root, host.path], { cwd: conformanceRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const mode = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the engine process did not start')), startTimeoutMs);
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(line); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the engine process exited with ${code}`)); });
  });
  t.equal(mode, 'full', 'an engine takes the namespace over with one full transaction');
  t.equal(await tableText(host), built, 'built from the state files, its table equals the one the CLI path built');

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  t.equal(await tableText(host), built, 'after SIGKILL of the engine process the table is still there');
  t.equal(await prober.probe(isolated.ip, 80, 'tcp', probeTimeoutMs), false, 'and still isolates the pod');

  const { engine, result } = FirewallEngine.start(snapshotOf(new FirewallStore(root).read()), { netns: host.path });
  t.teardown(() => engine.close());
  t.equal(result.mode, 'full', 'a restarted engine resyncs in full');
  t.equal(await tableText(host), built, 'to the same table');
  t.equal(await prober.probe(isolated.ip, 80, 'tcp', probeTimeoutMs), false, 'isolation holds after the restart');
  const allow = parseDocuments('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: x}\nspec: {podSelector: {matchLabels: {pod: isolated}}, ingress: [{from: [{podSelector: {matchLabels: {pod: client}}}]}]}\n');
  t.equal(engine.applyDocuments(allow.map((item) => item.document)).mode, 'incremental', 'the restarted engine takes changes as deltas');
  t.equal(await prober.probe(isolated.ip, 80, 'tcp', probeTimeoutMs), true, 'and enforces them: the client is now let in');
});
