export * from './errors.js';
export * from './model/index.js';
export * from './evaluate/index.js';
export * from './compile/index.js';
export { Firewall, compileState, type FirewallOptions, type ChangeResult, type OptionalChangeResult } from './firewall.js';
export { Enforcer, type ApplyResult, type ActionCounter, type EnforcerOptions } from './enforce/enforcer.js';
export { libnftablesBackend, type NftBackend, type NftBackendFactory } from './enforce/backend.js';
export { FirewallStore, defaultRoot, policySetOf, type EndpointRecord, type FirewallState, type StoredDocument } from './state/store.js';
export { createFirewallPlugin, endpointFromRequest, firewallPluginType, enforcementFailed } from './plugin/plugin.js';
