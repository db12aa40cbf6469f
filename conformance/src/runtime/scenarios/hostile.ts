import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxRootfs, type BundleConfig } from '../rootfs.js';
import { check, checkEqual, type Scenario, type ScenarioContext } from '../scenario.js';

/**
 * A hostile bundle must either be refused (non-zero exit, a message, and — checked by the suite after every
 * scenario — no state, cgroup, mount or process left), or be contained: whatever it asked for stays inside the
 * rootfs. `escapeMarker` is a host path that must not appear.
 */
async function refusedOrContained(context: ScenarioContext, bundle: string, escapeMarker?: string): Promise<void> {
  const id = context.newId();
  const result = await context.runtime.detached(['create', '--bundle', bundle, id], join(context.dir, `${id}.out`));
  if (result.code === 0) {
    await context.runtime.run(['delete', '--force', id]);
  } else {
    checkEqual(result.code, 1, 'exit code of the refusal');
    check(result.stderr.trim().length > 0, 'the refusal has a message');
    checkEqual(await context.runtime.status(id), undefined, 'no container after the refusal');
  }
  if (escapeMarker !== undefined) check(!existsSync(escapeMarker), `nothing appeared outside the rootfs at ${escapeMarker}`);
}

/** A bundle with its own writable busybox rootfs (hostile changes must not touch the shared one). */
async function ownRootfsConfig(context: ScenarioContext, args: readonly string[]): Promise<BundleConfig> {
  await buildBusyboxRootfs(join(context.dir, 'bundle', 'rootfs'));
  const config = context.config(args);
  config.root = { path: 'rootfs', readonly: false };
  return config;
}

export const hostileScenarios: readonly Scenario[] = [
  {
    name: 'hostile: rootfs symlink escaping the bundle',
    async run(context) {
      const bundle = join(context.dir, 'bundle');
      await mkdir(bundle, { recursive: true });
      await symlink(context.rootfs, join(bundle, 'rootfs'));
      const config = context.config(['true']);
      config.root = { path: 'rootfs', readonly: true };
      await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
      const id = context.newId();
      const result = await context.runtime.detached(['create', '--bundle', bundle, id], join(context.dir, 'out'));
      checkEqual(result.code, 1, `create exit code (${result.stderr.trim()})`);
      check(/rootfs|root\.path/.test(result.stderr), `the error names the rootfs: ${result.stderr.trim()}`);
    },
  },
  {
    name: 'hostile: mount destination with ..',
    async run(context) {
      const marker = join(context.dir, 'escaped-dotdot');
      const config = await ownRootfsConfig(context, ['true']);
      const depth = join(context.dir, 'bundle', 'rootfs').split('/').length;
      config.mounts.push({ destination: `${'/..'.repeat(depth)}${marker}`, type: 'tmpfs', source: 'tmpfs' });
      await refusedOrContained(context, await context.bundle(config), marker);
    },
  },
  {
    name: 'hostile: mount destination through a symlink out of the rootfs',
    async run(context) {
      const marker = join(context.dir, 'escaped-link');
      const config = await ownRootfsConfig(context, ['true']);
      const rootfs = join(context.dir, 'bundle', 'rootfs');
      await symlink(`${'../'.repeat(rootfs.split('/').length)}${context.dir.slice(1)}`, join(rootfs, 'sneaky'));
      config.mounts.push({ destination: '/sneaky/escaped-link/sub', type: 'tmpfs', source: 'tmpfs' });
      await refusedOrContained(context, await context.bundle(config), marker);
    },
  },
  {
    name: 'hostile: a symlink brought in by an earlier mount (resolved at mount time)',
    async run(context) {
      // Invisible when the bundle is checked: the link arrives with the bind mount of /data.
      const marker = join(context.dir, 'escaped-late');
      const shared = join(context.dir, 'shared');
      await mkdir(shared);
      await symlink(marker, join(shared, 'esc'));
      const config = await ownRootfsConfig(context, ['true']);
      config.mounts.push(
        { destination: '/data', type: 'bind', source: shared, options: ['rbind'] },
        { destination: '/data/esc/sub', type: 'tmpfs', source: 'tmpfs' },
      );
      await refusedOrContained(context, await context.bundle(config), marker);
    },
  },
  {
    name: 'hostile: unknown namespace type, bad JSON, missing process.args',
    async run(context) {
      const unknown = context.config(['true']);
      (unknown.linux['namespaces'] as unknown[]).push({ type: 'bogus' });
      await refusedOrContained(context, await context.bundle(unknown, 'unknown-namespace'));
      const badJson = join(context.dir, 'bad-json');
      await mkdir(badJson);
      await writeFile(join(badJson, 'config.json'), '{"ociVersion": "1.0.2", "process": {');
      await refusedOrContained(context, badJson);
      const noArgs = context.config([]);
      delete noArgs.process['args'];
      await refusedOrContained(context, await context.bundle(noArgs, 'no-args'));
    },
  },
];
