export { compile, actionChainName, type FirewallInput } from './compile.js';
export { renderFull, renderRemove, generationSet, forwardChain } from './render.js';
export { renderDiff, type DiffStats } from './diff.js';
export { encodeCompiled, decodeCompiled, type EncodedCompiled } from './codec.js';
export { tableName, dispatchNames, boxKey, emptyCompiled, type Box, type Group, type ActionChain, type CompiledFirewall, type DispatchName } from './ir.js';
