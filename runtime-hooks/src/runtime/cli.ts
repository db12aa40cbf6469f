import { main } from './main.js';

// The executable's entry (bundled to CommonJS by scripts/bundle.mjs for start-up time; no top-level await there).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
