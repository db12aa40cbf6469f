#!/usr/bin/env node
// Bundles each CNI executable into one ESM file (cni/dist/bundle/<name>.mjs), run by scripts/build.sh after tsc.
// One file instead of a tree of modules cuts startup (each module costs a resolve, a read and a compile); native
// addons and packages that load files relative to themselves stay external and resolve from node_modules.
// cni/bin/<name> is a committed two-line shebang file that imports its bundle.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** name → compiled entry (under cni/dist/src). Adding an executable is one line here plus its cni/bin/<name>. */
const executables = {
  'berth-ipam': 'plugins/ipam/main.js',
};

/** Loaded at run time, never bundled: native addons (found relative to their package), and pino (logging is lazy). */
const external = ['@berth/netns-napi', '@berth/nftables-napi', 'netlink', 'pino', '*.node'];

const started = Date.now();
await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(executables).map(([name, entry]) => [name, `cni/dist/src/${entry}`])),
  outdir: 'cni/dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle may call require() for node builtins.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
});
process.stderr.write(`bundle: ${Object.keys(executables).length} executable(s) in ${Date.now() - started} ms\n`);
