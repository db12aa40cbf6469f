export { NatCode } from './errors.js';
export { ownerTag, networkTag, tagInNetwork, ownerTagLengthMax, type NatOwner } from './owner.js';
export {
  NatSet, natFamily, natTable, natRulesetVersion, natBaseScript, masqueradeSets, portMappingSets, allNatSets,
  type NatSetName,
} from './ruleset.js';
export {
  masqueradeElements, portMappingElements, portMappingProtocols, elementIdentity, fullIdentity, addElementCommands,
  deleteElementCommands, type NatElement, type PortMappingSpec,
} from './elements.js';
export { readNatListing, type NatListing } from './listing.js';
export { NatTable, natLockPathDefault, type NatTableOptions, type NatChange, type NftRunner } from './nat-table.js';
