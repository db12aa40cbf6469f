/** Entry of the container commands' bundle (see container-commands.ts). */
import { registerContainerCommands } from './commands/containers.js';
import { baseProgram, runProgram } from './program.js';

const program = baseProgram();
registerContainerCommands(program);
void runProgram(program, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
