/** Entry of the bundled hook (scripts/bundle.mjs → cni/dist/bundle/berth-hook.cjs, run by runtime-hooks/bin/berth-hook). */
import { main } from './main.js';
import { hookPaths } from './paths.js';

// Berth's plugins run inside the hook and log with the same factory: into the hook's log, never onto the stderr the
// runtime reads as the hook's one-line reason.
process.env['BERTH_LOG_FILE'] ??= hookPaths(process.env).logFile;

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
