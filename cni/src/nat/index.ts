export { NatCode } from './errors.js';
export { ownerTag, networkTag, tagInNetwork, ownerTagLengthMax, type NatOwner } from './owner.js';
export type { OwnedTableSpec } from './table-spec.js';
export {
  NatSet, natFamily, natTableName, natRulesetVersion, natBaseScript, natTableSpec, masqueradeSets, portMappingSets,
  allNatSets, type NatSetName,
} from './ruleset.js';
export {
  masqueradeElements, portMappingElements, portMappingProtocols, elementIdentity, fullIdentity, addElementCommands,
  deleteElementCommands, type OwnedElement, type NatElement, type PortMappingSpec,
} from './elements.js';
export { readOwnedListing, type OwnedListing } from './listing.js';
export {
  OwnedTable, tableLockDirDefault, applyAttemptsMax, type OwnedTableOptions, type OwnedTableChange, type NftRunner,
} from './owned-table.js';
export { macspoofTableSpec, macspoofTableName, macspoofBaseScript, macspoofElements, MacspoofSet } from './macspoof.js';
