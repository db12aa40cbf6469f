/**
 * The README's Install and Getting started sections, run as written: every `sh` block in order, as root, in a host
 * network namespace of the test's own and a private mount and pid namespace whose /var/lib/berth, /run/berth and
 * /etc/cni/net.d are fresh tmpfs — the default paths a new user gets, on nothing of this machine's. When the script
 * ends (or the test times out) the pid namespace's first process dies and takes every process of the tour with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../../src/cluster/paths.js';
import { readmeGuideScript, shellBlocksOfSection } from '../../src/guide/readme-script.js';
import { TestHost } from '../../src/harness/index.js';

const checkout = repoRoot();
const readme = readFileSync(join(checkout, 'README.md'), 'utf8');
const defaultPaths = ['/var/lib/berth', '/run/berth', '/etc/cni/net.d'];
const tourTimeoutMs = 300_000;

t.test('the guide script: Install without setup, then every block of Getting started, stopping at the first error', async (t) => {
  const script = readmeGuideScript(readme, '/co');
  t.match(script, /^set -euo pipefail\n/);
  t.notMatch(script, /npm run setup/, 'setup is not re-run by the test');
  t.match(script, /export PATH="\$PWD\/runtime-hooks\/bin:\$PATH"/);
  t.ok(script.indexOf('berth cluster init') < script.indexOf('berth policy apply'), 'blocks keep their order');
  t.same(shellBlocksOfSection('## A\n```sh\na\n```\n```js\nx\n```\n## B\n```sh\nb\n```\n', 'A'), ['a']);
  t.throws(() => shellBlocksOfSection('## A\n```sh\na\n', 'A'), /unclosed/);
  t.throws(() => shellBlocksOfSection('# nothing\n', 'Getting started'), /no section/);
});

t.test("a new user's tour from the README: berthd, a cluster, containers, a policy, a rotated secret, clean up", async (t) => {
  const host = await TestHost.create(t, 'guide');
  const home = mkdtempSync(join(tmpdir(), 'bt-guide-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  // Mount points for the tmpfs: directories made here only for that are removed again (they stay empty on this side).
  for (const path of defaultPaths.filter((path) => !existsSync(path))) {
    mkdirSync(path, { recursive: true });
    t.teardown(() => rmdirSync(path));
  }
  writeFileSync(join(home, 'guide.sh'), readmeGuideScript(readme, checkout));
  const inner = `${defaultPaths.map((path) => `mount -t tmpfs -o mode=0755 bt-guide ${path}`).join(' && ')} && cd "$HOME" && exec bash guide.sh`;
  const child = spawn('nsenter', [`--net=${host.path}`, 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--mount-proc', 'bash', '-c', inner], {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), tourTimeoutMs);
  t.teardown(() => { clearTimeout(timer); child.kill('SIGKILL'); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);

  t.equal(code, 0, `the tour ran to its end${code === 0 ? '' : `; its last lines:\n${output.trimEnd().split('\n').slice(-40).join('\n')}`}`);
  t.match(output, /this host \(\S+\) is its manager/, 'berthd answered and made a one-host cluster');
  t.match(output, /hello from db/, 'before any policy the client reaches db');
  t.match(output, /hello from web/, 'with the policy the client reaches web');
  t.match(output, /client -> db: no answer/, 'and is denied at db');
  t.match(output, /DENY\s+default\/client \(10\.77\.0\.4\) -> default\/db \(10\.77\.0\.3\) tcp\/5432\ndecided by: tier networkpolicy, NetworkPolicy default\/db-from-web/,
    'explain names the containers and the policy that denies client -> db:5432');
  t.match(output, /db has version 1/, 'the secret is at /run/secrets in db');
  t.match(output, /db has version 2, same process/, 'the rotation reached the running db');
});
