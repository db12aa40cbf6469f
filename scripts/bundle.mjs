#!/usr/bin/env node
// Bundles each CNI executable into one CommonJS file, cni/dist/bundle/<name>.cjs; run by scripts/build.sh after tsc.
// cni/bin/<name> is the native shim (cni/shim): it forwards the call to berthd, or execs `node run.cjs <name>` (generated
// here), which loads the bundle through the generated load.cjs (with its V8 code cache, see the end of this file).
//
// Why (measured on Node 20, VERSION of berth-ipam, medians): the tree of ES modules costs ~15 ms over bare node,
// an ESM bundle ~12 ms (the ESM loader, and ESM facades of builtins that touch lazy getters: importing node:fs as
// ESM loads streams and fs/promises), a CJS bundle ~3 ms. So: CJS, one file, node builtins via require().
// Our own workspace packages are bundled too; `import.meta.url` in them is rewritten to the original file's URL
// (relative to the bundle at run time) so native addons are still found next to their package. Native addons and
// `pino` (loaded only when logging) stay external. `netlink` is bundled (only its socket layer is imported): its
// `node-gyp-build` lookup of the prebuilt addon is resolved here, at build time, into a require of that one file,
// which saves each plugin start the lookup and the loading of five separate modules.
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import { Script } from 'node:vm';
import { dirname, join, relative } from 'node:path';
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
  'berth-runtime': '../../../runtime-hooks/dist/src/runtime/cli.js',
};

/** The OCI hook and the container commands of the CLI (on every container's start path) always log or may, so pino
 * is bundled into them (with the code cache) instead of being loaded from node_modules at every start: that lookup
 * and compile was half of a no-op hook's start (measured ~250 of ~500 ms on a loaded machine). Same outdir and
 * loader as the CNI executables. */
const hookExecutables = {
  'berth-hook': '../../../runtime-hooks/dist/src/hooks/bin.js',
  'berth-containers': '../../../runtime-hooks/dist/src/cli/containers-bin.js',
};

/**
 * The CNI plugins among the executables: cni/bin/<name> is the native shim for each (scripts/build.sh links it, from
 * cni-plugins.json written below), and the shim's exec fallback runs `node run.cjs <name>` for these names only.
 */
const cniPlugins = ['berth-ipam', 'berth-bridge', 'berth-none', 'berth-host-device', 'berth-portmap', 'berth-firewall', 'berth-macvlan', 'berth-vxlan'];
for (const name of cniPlugins) if (!(name in executables)) throw new Error(`bundle: CNI plugin ${name} has no entry in executables`);

const external = ['pino', '*.node'];

const requireHere = createRequire(import.meta.url);

/** netlink's `require('node-gyp-build')(__dirname + '/..')` → a require of the addon it would pick on this machine. */
const netlinkAddon = {
  name: 'netlink-addon',
  setup(context) {
    const packageDir = dirname(requireHere.resolve('netlink/package.json'));
    const addon = requireHere('node-gyp-build').path(packageDir);
    context.onLoad({ filter: /[\\/]netlink[\\/]dist[\\/]raw\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const lookup = "require('node-gyp-build')(__dirname + '/..')";
      if (!source.includes(lookup)) throw new Error(`bundle: ${args.path} no longer loads its addon with ${lookup}`);
      const fromBundle = JSON.stringify(relative(outdir, addon));
      return { contents: source.replace(lookup, `require(require("node:path").join(__dirname, ${fromBundle}))`), loader: 'js' };
    });
  },
};

/**
 * commander requires node:child_process at load, for executable subcommands no Berth executable has; loading it
 * costs each berth-runtime start ~10 ms (node:net, streams). Here it is required when (if ever) first used.
 */
const commanderLazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(context) {
    context.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`bundle: ${args.path} no longer loads child_process with ${eager}`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

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
const buildBundles = (entries, externalModules) => build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, `cni/dist/src/${entry}`])),
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  splitting: false,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: externalModules,
  plugins: [importMetaUrl, netlinkAddon, commanderLazyChildProcess],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await buildBundles(executables, external);
await buildBundles(hookExecutables, ['*.node']);

// V8 code cache: compiling a ~100 KB bundle costs each plugin start ~3-5 ms (measured: ADD and DEL each ~4 ms
// faster with the cache). run.cjs loads the bundle through load.cjs, which hands V8 the cache made here;
// a cache from another Node/V8 build is rejected by V8 and the bundle is simply compiled as without one.
const loader = `'use strict';
// Generated by scripts/bundle.mjs: runs bundle <name>.cjs as a CommonJS module, compiled with its V8 code cache.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');
module.exports = function loadBundle(name) {
  const file = join(__dirname, name + '.cjs');
  let cachedData;
  try { cachedData = readFileSync(file + '.cache'); } catch { cachedData = undefined; }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(__dirname);
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, __dirname);
};
`;
await writeFile(join(outdir, 'load.cjs'), loader);
const runner = `'use strict';
// Generated by scripts/bundle.mjs: the CNI shim's exec fallback runs \`node run.cjs <name>\` with a clean environment.
const names = ${JSON.stringify(cniPlugins)};
const name = process.argv[2];
if (!names.includes(name)) {
  process.stderr.write(\`run.cjs: no bundled plugin \${JSON.stringify(String(name))}\\n\`);
  process.exit(1);
}
require('./load.cjs')(name);
`;
await writeFile(join(outdir, 'run.cjs'), runner);
await writeFile(join(outdir, 'cni-plugins.json'), `${JSON.stringify(cniPlugins)}\n`);
const bundled = [...Object.keys(executables), ...Object.keys(hookExecutables)];
for (const name of bundled) {
  const file = join(outdir, `${name}.cjs`);
  const script = new Script(Module.wrap(await readFile(file, 'utf8')), { filename: file });
  await writeFile(`${file}.cache`, script.createCachedData());
}
process.stderr.write(`bundle: ${bundled.length} executable(s) in ${Date.now() - started} ms\n`);
