export { compile, type FirewallInput } from './compile.js';
export { FirewallCompiler, type FirewallSnapshot } from './compiler.js';
export { actionChainName } from './names.js';
export { renderFull, renderRemove, generationSet, forwardChain } from './render.js';
export { renderDelta, type DeltaStats } from './delta.js';
export type { ChangeLog } from './change-log.js';
export { tableName, dispatchNames, boxKey, emptyCompiled, type Box, type Group, type Profile, type PortBox, type ActionChain, type CompiledFirewall, type DispatchName } from './ir.js';
