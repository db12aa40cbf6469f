#!/usr/bin/env node
// Bundles each CNI executable into one CommonJS file, cni/dist/bundle/<name>.cjs; run by scripts/build.sh after tsc.
// cni/bin/<name> is a committed two-line CommonJS file (cni/bin/package.json says so) that requires its bundle.
//
// Why (measured on Node 20, VERSION of berth-ipam, medians): the tree of ES modules costs ~15 ms over bare node,
// an ESM bundle ~12 ms (the ESM loader, and ESM facades of builtins that touch lazy getters: importing node:fs as
// ESM loads streams and fs/promises), a CJS bundle ~3 ms. So: CJS, one file, node builtins via require().
// Our own workspace packages are bundled too; `import.meta.url` in them is rewritten to the original file's URL
// (relative to the bundle at run time) so native addons are still found next to their package. Native addons,
// `netlink` (it finds its prebuilds relative to itself) and `pino` (loaded only when logging) stay external.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'cni/dist/bundle');

/** name → compiled entry under cni/dist/src. Adding an executable: one line here plus its cni/bin/<name>. */
const executables = {
  'berth-ipam': 'plugins/ipam/main.js',
  'berth-bridge': 'plugins/bridge/main.js',
  'berth-none': 'plugins/none/main.js',
  'berth-host-device': 'plugins/host-device/main.js',
  'berth-portmap': 'plugins/portmap/main.js',
  'berth-firewall': '../../../firewall/dist/src/plugin/main.js',
  'berth-macvlan': 'plugins/macvlan/main.js',
  'berth-vxlan': 'plugins/vxlan/main.js',
};

const external = ['netlink', 'pino', '*.node'];

/** `import.meta.url` of a bundled module → the URL of its original file, found from the bundle's __dirname. */
const importMetaUrl = {
  name: 'import-meta-url',
  setup(context) {
    context.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = JSON.stringify(relative(outdir, args.path));
      const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${fromBundle})).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const started = Date.now();
await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(executables).map(([name, entry]) => [name, `cni/dist/src/${entry}`])),
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  splitting: false,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  plugins: [importMetaUrl],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
process.stderr.write(`bundle: ${Object.keys(executables).length} executable(s) in ${Date.now() - started} ms\n`);
