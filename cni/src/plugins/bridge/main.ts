import { main } from '../../skel/main.js';
import { BERTH_BRIDGE_TYPE, createBerthBridge } from './plugin.js';

main(createBerthBridge({
  reportRollbackFailures: (failures) => process.stderr.write(`${BERTH_BRIDGE_TYPE}: undoing a failed ADD left: ${failures.join('; ')}\n`),
}));
