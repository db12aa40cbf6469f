import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoNetwork, DemoPod } from './network-act.js';
import type { DemoStage } from './stage.js';

const policy = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 80}]
`;

const webPort = 80;

async function canConnect(from: DemoPod, to: DemoPod): Promise<boolean> {
  const probe = await from.netns.exec(['nc', '-z', '-w', '2', to.ip, String(webPort)]);
  return probe.code === 0;
}

/** Act 2: a NetworkPolicy isolates the web pod; only the client reaches it, and `explain` says why. */
export async function runPolicyAct(stage: DemoStage, network: DemoNetwork): Promise<void> {
  stage.act('A Kubernetes NetworkPolicy, enforced with nftables in the host namespace');
  const [web, client, other] = network.pods;
  if (web === undefined || client === undefined || other === undefined) throw new Error('the demo needs its pods');
  const server = spawn('nsenter', [`--net=${web.netns.path}`, '--', 'nc', '-lk', '-p', String(webPort)], { stdio: 'ignore' });
  stage.teardown(() => { server.kill('SIGKILL'); });
  await waitForListener(web);

  stage.expect(await canConnect(other, web), 'before any policy, the batch pod reaches web:80');
  const file = join(stage.root, 'web-policy.yaml');
  writeFileSync(file, policy);
  await stage.berth('policy', 'apply', '-f', file);
  stage.expect(await canConnect(client, web), 'the client pod still reaches web:80');
  stage.expect(!(await canConnect(other, web)), 'the batch pod is now refused at web:80');
  await stage.berth('policy', 'explain', '--from', 'shop/other', '--to', 'shop/web', '--port', '80/tcp');
  await stage.berth('policy', 'rm', 'shop/web-from-client');
  stage.expect(await canConnect(other, web), 'with the policy removed, the batch pod reaches web:80 again');
}

async function waitForListener(pod: DemoPod): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const sockets = await pod.netns.exec(['ss', '-Hltn', `sport = :${webPort}`]);
    if (sockets.stdout.trim() !== '') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`web did not start listening on port ${webPort}`);
}
