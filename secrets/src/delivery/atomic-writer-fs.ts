import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { planAtomicWrite, writerStateOf, type ProjectedFile, type WriteStep, type WriterState } from './atomic-writer.js';

let sequence = 0;

/** A fresh versioned dir name: time plus a per-process sequence, so two writes in one millisecond differ. */
export function newVersionedDirName(now = new Date()): string {
  sequence = (sequence + 1) % 1_000_000;
  return `..v${now.toISOString().replace(/[-:]/g, '').replace('T', '_').replace('Z', '').toLowerCase()}.${process.pid}.${sequence}`;
}

export async function readWriterState(root: string): Promise<WriterState> {
  const entries = new Map<string, { kind: 'link'; target: string } | { kind: 'dir' | 'file' }>();
  for (const name of await readdir(root)) {
    const info = await lstat(join(root, name));
    if (info.isSymbolicLink()) entries.set(name, { kind: 'link', target: await readlink(join(root, name)) });
    else entries.set(name, { kind: info.isDirectory() ? 'dir' : 'file' });
  }
  return writerStateOf(entries);
}

async function runStep(root: string, step: WriteStep): Promise<void> {
  switch (step.op) {
    case 'remove': return rm(join(root, step.path), { recursive: true, force: true });
    case 'mkdir': return void await mkdir(join(root, step.path), { mode: 0o755 });
    case 'symlink': return symlink(step.target, join(root, step.path));
    case 'rename': return rename(join(root, step.from), join(root, step.to));
    case 'write': {
      const handle = await open(join(root, step.path), 'wx', 0o600);
      try {
        await handle.writeFile(step.file.data);
        await handle.chown(step.file.uid, step.file.gid);
        await handle.chmod(step.file.mode);
      } finally {
        await handle.close();
      }
    }
  }
}

/** Replaces the directory's visible set with `files`, atomically for readers; returns the new versioned dir. */
export async function writeAtomically(root: string, files: readonly ProjectedFile[]): Promise<string> {
  const newDir = newVersionedDirName();
  for (const step of planAtomicWrite(await readWriterState(root), files, newDir)) await runStep(root, step);
  return newDir;
}
