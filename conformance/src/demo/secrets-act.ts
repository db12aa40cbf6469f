import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoStage } from './stage.js';

export const demoSecret = 'db-password';
const secretFile = `/run/secrets/${demoSecret}`;
/** berthd swaps the files within 1 s of the commit (DESIGN §5); the demo waits at most this long. */
const rotationWaitMsMax = 5_000;
const rotationPollMs = 100;

/** A demo value (random, so a stale one cannot pass) in a 0600 file under the lab dir: values never go in argv. */
function valueFile(stage: DemoStage, version: number): { value: string; file: string } {
  const value = `demo-password-v${version}-${randomBytes(6).toString('hex')}`;
  const file = join(stage.lab.dir, `${demoSecret}.v${version}`);
  writeFileSync(file, value, { mode: 0o600 });
  return { value, file };
}

async function inDb(stage: DemoStage, command: string): Promise<string> {
  const result = await stage.lab.berth(['exec', 'db', 'busybox', 'sh', '-c', command]);
  if (result.code !== 0) throw new Error(`berth exec db ${command}: ${result.stderr.trim()}`);
  return result.stdout;
}

export async function createSecret(stage: DemoStage): Promise<string> {
  const first = valueFile(stage, 1);
  await stage.step('Create a secret in the cluster (berthd seals it; etcd never holds it in the clear)', async () => {
    await stage.berth('secret', 'create', demoSecret, first.file);
    await stage.berth('secret', 'ls');
  });
  return first.value;
}

/** Steps: the value at /run/secrets inside db; a rotation reaches the running db without a restart. */
export async function runSecretsAct(stage: DemoStage, firstValue: string): Promise<void> {
  await stage.step(`Read the secret inside db at ${secretFile}`, async () => {
    await stage.berth('exec', 'db', 'busybox', 'ls', '-lL', '/run/secrets/');
    stage.expect((await stage.berth('exec', 'db', 'busybox', 'cat', secretFile)) === firstValue, 'db reads the value it was granted');
  });
  await stage.step('Rotate the secret; the running db sees the new value without a restart', async () => {
    const startTime = async (): Promise<string> => (await inDb(stage, 'busybox cut -d" " -f22 /proc/1/stat')).trim();
    const before = await startTime();
    const second = valueFile(stage, 2);
    await stage.berth('secret', 'rotate', demoSecret, second.file);
    const rotated = Date.now();
    let seen = '';
    while (seen !== second.value && Date.now() - rotated < rotationWaitMsMax) {
      seen = await inDb(stage, `busybox cat ${secretFile}`);
      if (seen !== second.value) await sleep(rotationPollMs);
    }
    stage.say(`$ berth exec db busybox cat ${secretFile}   (${Date.now() - rotated} ms after the rotate returned)`);
    stage.output(seen);
    stage.expect(seen === second.value, 'db reads the new value');
    stage.expect((await startTime()) === before, `db's process 1 is the same one (started at tick ${before}): no restart`);
  });
}
