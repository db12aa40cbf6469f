/** Entry of the bundled hook (scripts/bundle.mjs → cni/dist/bundle/berth-hook.cjs, run by runtime-hooks/bin/berth-hook). */
import { main } from './main.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
