import t from 'tap';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataLink, planAtomicWrite, writerStateOf, type ProjectedFile, type WriteStep, type WriterState } from '../../src/delivery/atomic-writer.js';
import { readWriterState, writeAtomically } from '../../src/delivery/atomic-writer-fs.js';

type Entry = { kind: 'dir' } | { kind: 'file'; data: string } | { kind: 'link'; target: string };

/** A tiny in-memory directory tree (paths relative to the secrets dir) that runs plan steps one at a time. */
class ModelFs {
  readonly entries = new Map<string, Entry>();

  apply(step: WriteStep): void {
    switch (step.op) {
      case 'remove': for (const path of [...this.entries.keys()]) if (path === step.path || path.startsWith(`${step.path}/`)) this.entries.delete(path); return;
      case 'mkdir': this.#create(step.path, { kind: 'dir' }); return;
      case 'write': this.#create(step.path, { kind: 'file', data: Buffer.from(step.file.data).toString() }); return;
      case 'symlink': this.#create(step.path, { kind: 'link', target: step.target }); return;
      case 'rename': {
        const entry = this.entries.get(step.from);
        if (entry === undefined) throw new Error(`rename: no ${step.from}`);
        this.entries.delete(step.from);
        this.entries.set(step.to, entry);
      }
    }
  }

  #create(path: string, entry: Entry): void {
    if (this.entries.has(path)) throw new Error(`EEXIST ${path}`);
    this.entries.set(path, entry);
  }

  /** What a reader of `name` gets: the content through the symlinks, or undefined (ENOENT). */
  read(name: string, depth = 0): string | undefined {
    if (depth > 8) throw new Error('ELOOP');
    const [head = '', ...rest] = name.split('/');
    const entry = this.entries.get(head);
    if (entry === undefined) return undefined;
    if (entry.kind === 'link') return this.read([entry.target, ...rest].join('/'), depth + 1);
    if (rest.length === 0) return entry.kind === 'file' ? entry.data : undefined;
    const inner = this.entries.get(`${head}/${rest.join('/')}`);
    return inner?.kind === 'file' ? inner.data : undefined;
  }

  state(): WriterState {
    const top = new Map<string, { kind: 'link'; target: string } | { kind: 'dir' | 'file' }>();
    for (const [path, entry] of this.entries) if (!path.includes('/')) top.set(path, entry.kind === 'link' ? entry : { kind: entry.kind });
    return writerStateOf(top);
  }
}

const file = (name: string, data: string): ProjectedFile => ({ name, data: Buffer.from(data), mode: 0o400, uid: 0, gid: 0 });
type FileSet = Record<string, string>;

function snapshot(fs: ModelFs, names: readonly string[]): FileSet {
  const out: FileSet = {};
  for (const name of names) {
    const value = fs.read(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

const transitions: Array<[string, FileSet, FileSet]> = [
  ['first write', {}, { a: 'a1', b: 'b1' }],
  ['new values', { a: 'a1', b: 'b1' }, { a: 'a2', b: 'b2' }],
  ['a name added', { a: 'a1' }, { a: 'a2', c: 'c1' }],
  ['a name removed', { a: 'a1', b: 'b1' }, { a: 'a2' }],
  ['names swapped', { a: 'a1' }, { b: 'b1' }],
  ['everything revoked', { a: 'a1', b: 'b1' }, {}],
  ['nothing to something', {}, { z: 'z1' }],
];

for (const [title, before, after] of transitions) {
  t.test(`${title}: after every step a reader sees the old set or the new set, never a mix`, async (t) => {
    const fs = new ModelFs();
    for (const step of planAtomicWrite(fs.state(), Object.entries(before).map(([name, data]) => file(name, data)), '..v1')) fs.apply(step);
    t.same(snapshot(fs, Object.keys(before)), before, 'old set in place');
    const steps = planAtomicWrite(fs.state(), Object.entries(after).map(([name, data]) => file(name, data)), '..v2');
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    let swapped = false;
    for (const [index, step] of steps.entries()) {
      fs.apply(step);
      const seen = snapshot(fs, names);
      const same = (expected: FileSet): boolean => JSON.stringify(seen) === JSON.stringify(Object.fromEntries(Object.entries(expected).sort()));
      t.ok(same(before) || same(after), `step ${index} (${step.op} ${'path' in step ? step.path : step.to}): ${JSON.stringify(seen)}`);
      if (same(after) && !same(before)) swapped = true;
      else t.notOk(swapped && !same(after), 'never back to the old set after the swap');
    }
    t.same(snapshot(fs, names), after, 'new set in place');
    t.same(fs.state(), { dataDir: '..v2', names: Object.keys(after).sort(), leftovers: [] }, 'no leftovers');
  });
}

t.test('an interrupted write (new dir, ..data_tmp, stray name) is cleaned up by the next one', async (t) => {
  const fs = new ModelFs();
  for (const step of planAtomicWrite(fs.state(), [file('a', 'a1')], '..v1')) fs.apply(step);
  const interrupted = planAtomicWrite(fs.state(), [file('a', 'a2'), file('b', 'b2')], '..v2');
  for (const step of interrupted.slice(0, interrupted.findIndex((step) => step.op === 'rename'))) fs.apply(step);
  t.same(snapshot(fs, ['a', 'b']), { a: 'a1' }, 'the reader still sees the old set');
  const state = fs.state();
  t.same(state.leftovers, ['..data_tmp', '..v2'], 'leftovers found');
  for (const step of planAtomicWrite(state, [file('a', 'a3')], '..v3')) fs.apply(step);
  t.same(snapshot(fs, ['a', 'b']), { a: 'a3' });
  t.same(fs.state(), { dataDir: '..v3', names: ['a'], leftovers: [] }, 'dangling b and the half-made dir are gone');
});

t.test('hostile names are refused before any step', async (t) => {
  const state: WriterState = { dataDir: undefined, names: [], leftovers: [] };
  for (const name of ['..data', '../x', 'a/b', '', '.hidden']) t.throws(() => planAtomicWrite(state, [file(name, 'x')], '..v1'), RangeError, JSON.stringify(name));
  t.throws(() => planAtomicWrite(state, [file('a', 'x'), file('a', 'y')], '..v1'), RangeError, 'duplicates');
  t.throws(() => planAtomicWrite(state, [], 'v1'), RangeError, 'versioned dir name');
});

t.test('on a real directory: files, modes, owners and the ..data link', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bt-writer-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeAtomically(root, [{ name: 'db', data: Buffer.from('one'), mode: 0o440, uid: 1234, gid: 2345 }, file('api', 'k1')]);
  t.equal(await readFile(join(root, 'db'), 'utf8'), 'one');
  const info = await stat(join(root, 'db'));
  t.same([info.mode & 0o777, info.uid, info.gid], [0o440, 1234, 2345]);
  const first = (await readWriterState(root)).dataDir;
  await writeAtomically(root, [file('db', 'two')]);
  t.equal(await readFile(join(root, 'db'), 'utf8'), 'two');
  t.same((await readdir(root)).sort(), [dataLink, (await readWriterState(root)).dataDir, 'db'].sort(), 'old dir and revoked name gone');
  t.not((await readWriterState(root)).dataDir, first);
});
