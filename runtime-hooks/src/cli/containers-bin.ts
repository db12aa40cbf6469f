/** Entry of the container commands' bundle (see container-commands.ts). */
import { hookPaths } from '../hooks/paths.js';
import { registerContainerCommands } from './commands/containers.js';
import { addExamples } from './examples.js';
import { baseProgram, runProgram } from './program.js';

// `berth run` runs Berth's hook stages (and their plugins) in this process: they log into the hook log, as in the
// hook executable (hooks/bin.ts), never onto the terminal the container's output goes to.
process.env['BERTH_LOG_FILE'] ??= hookPaths(process.env).logFile;

const program = baseProgram();
registerContainerCommands(program);
addExamples(program);
void runProgram(program, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
