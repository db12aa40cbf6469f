import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoContainers } from './containers-act.js';
import type { DemoStage } from './stage.js';

/** web takes the client on :80; db takes only web on :5432 (so the client is refused there). */
const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{protocol: TCP, port: 5432}]
`;

const targets = [['web', 80], ['db', 5432]] as const;
/** An allowed probe retries while the server starts; a refused one is a dropped SYN, so each try waits its timeout. */
const probeAttemptsMax = 10;
const probeTimeoutSeconds = 2;

/** An HTTP GET over `busybox nc` from inside the client container (berth exec); true when the server answered. */
async function probe(stage: DemoStage, containers: DemoContainers, target: string, port: number, attempts: number): Promise<boolean> {
  const address = containers.addresses.get(target) ?? '';
  const get = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w ${probeTimeoutSeconds} ${address} ${port}`;
  stage.say(`$ berth exec client busybox sh -c "${get}"`);
  const script = `for i in $(busybox seq ${attempts}); do ${get} && exit 0; busybox sleep 0.2; done; exit 1`;
  const result = await stage.lab.berth(['exec', 'client', 'busybox', 'sh', '-c', script]);
  const lines = result.stdout.trim().split(/\r?\n/);
  const answered = result.code === 0 && /^HTTP\/1\.[01] 200/.test(lines[0] ?? '');
  stage.output(`${answered ? `${lines[0] ?? ''} ... ${lines.at(-1) ?? ''}` : `no answer: ${result.stderr.trim().split('\n').at(-1) || `exit ${result.code}`}`}`);
  return answered;
}

/** Steps: both servers answer the client; a NetworkPolicy is applied; web still answers, db does not, and why. */
export async function runPolicyAct(stage: DemoStage, containers: DemoContainers): Promise<void> {
  await stage.step('Probe web and db from inside client, before any policy', async () => {
    for (const [target, port] of targets) stage.expect(await probe(stage, containers, target, port, probeAttemptsMax), `client reaches ${target}:${port}`);
  });
  await stage.step('Apply a NetworkPolicy: client -> web allowed, client -> db denied', async () => {
    const file = join(stage.lab.dir, 'policy.yaml');
    writeFileSync(file, policy);
    stage.say(policy);
    await stage.berth('policy', 'apply', '-f', file);
    stage.expect(await probe(stage, containers, 'web', 80, probeAttemptsMax), 'client still reaches web:80');
    stage.expect(!(await probe(stage, containers, 'db', 5432, 1)), 'client is refused at db:5432');
    const [client, db] = [containers.addresses.get('client') ?? '', containers.addresses.get('db') ?? ''];
    await stage.berth('policy', 'explain', '--from', client, '--to', db, '--port', '5432/tcp');
  });
}
