/**
 * The hooks.d files (containers' oci-hooks(5), version 1.0.0) that make podman and CRI-O inject Berth's hook: one
 * file per stage, injected only into containers with a `berth.network` or `berth.service` annotation (createContainer:
 * `berth.service` only). Pure; the
 * CLI (`berth hooks install`) writes them with this installation's berth-hook path.
 */
import { STAGES, type Stage } from './stages.js';
import { berthHookPath, hookTimeoutSeconds } from './oci-hooks.js';

export const hooksDirDefault = '/etc/containers/oci/hooks.d';
/** The annotation keys (regular expressions, as hooks.d matches them) that select the containers each stage has work
 * for: createContainer only binds a service's secrets, so it is not even started for other containers. */
export const hooksWhenAnnotation: Readonly<Record<Stage, string>> = {
  createRuntime: '^berth\\.(network|service)$',
  createContainer: '^berth\\.service$',
  poststop: '^berth\\.(network|service)$',
};

export function hooksDFileName(stage: Stage): string {
  return `50-berth-${stage}.json`;
}

export function hooksDFiles(env: Readonly<Record<string, string>> = {}, path = berthHookPath): Record<string, Record<string, unknown>> {
  return Object.fromEntries(STAGES.map((stage) => [hooksDFileName(stage), {
    version: '1.0.0',
    hook: {
      path, args: ['berth-hook', stage], timeout: hookTimeoutSeconds,
      ...(Object.keys(env).length > 0 ? { env: Object.entries(env).map(([key, value]) => `${key}=${value}`) } : {}),
    },
    when: { annotations: { [hooksWhenAnnotation[stage]]: '.*' } },
    stages: [stage],
  }]));
}
