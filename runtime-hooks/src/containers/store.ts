/**
 * `berth run`'s containers: `$BERTH_ROOT/containers/<id>/` holds the bundle (config.json), `container.json` (what
 * was asked and what happened) and, for detached containers, `container.log`. Writes are write-then-rename.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortMapping } from '../hooks/annotations.js';

export interface ContainerMeta {
  readonly id: string;
  readonly name: string;
  readonly created: string;
  readonly rootfs: string;
  readonly command: readonly string[];
  readonly network: string;
  readonly ports: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
  readonly service?: string;
  readonly secrets: readonly string[];
  readonly detached: boolean;
  readonly autoRemove: boolean;
  /** The OCI runtime binary and its --root, so every later command talks to the same one. */
  readonly runtime: string;
  readonly runtimeRoot: string;
  readonly status: 'created' | 'running' | 'exited';
  readonly exitCode?: number;
  readonly finished?: string;
  /** The detached container's monitor process. */
  readonly monitorPid?: number;
}

export const containersScannedMax = 65_536;

export class ContainerStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
  }

  bundleDir(id: string): string {
    return join(this.dir, id);
  }

  logFile(id: string): string {
    return join(this.dir, id, 'container.log');
  }

  read(id: string): ContainerMeta | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, id, 'container.json'), 'utf8')) as ContainerMeta;
    } catch {
      return undefined;
    }
  }

  write(meta: ContainerMeta): void {
    const dir = this.bundleDir(meta.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'container.json.tmp'), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    renameSync(join(dir, 'container.json.tmp'), join(dir, 'container.json'));
  }

  update(id: string, change: Partial<ContainerMeta>): ContainerMeta | undefined {
    const meta = this.read(id);
    if (meta === undefined) return undefined;
    const next = { ...meta, ...change };
    this.write(next);
    return next;
  }

  writeBundle(id: string, config: Record<string, unknown>): void {
    const dir = this.bundleDir(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }

  remove(id: string): void {
    rmSync(this.bundleDir(id), { recursive: true, force: true });
  }

  list(): ContainerMeta[] {
    const ids = existsSync(this.dir) ? readdirSync(this.dir).slice(0, containersScannedMax) : [];
    return ids.map((id) => this.read(id)).filter((meta): meta is ContainerMeta => meta !== undefined)
      .sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By exact name, exact id, or unique id prefix (at least 4 characters). */
  find(reference: string): ContainerMeta {
    const all = this.list();
    const exact = all.find((meta) => meta.name === reference || meta.id === reference);
    if (exact !== undefined) return exact;
    const byPrefix = reference.length >= 4 ? all.filter((meta) => meta.id.startsWith(reference)) : [];
    if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
    if (byPrefix.length > 1) throw new Error(`Container reference ${JSON.stringify(reference)} is ambiguous: ${byPrefix.length} containers match`);
    throw new Error(`No container ${JSON.stringify(reference)} (see berth ps -a)`);
  }
}
