import { writeSync } from 'node:fs';
import { main } from '../../skel/main.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { lazyPlugin } from '../common/lazy.js';
import { PhaseRecorder } from './timing.js';

const name = 'berth-bridge';
const recorder = process.env['BERTH_TIMING'] === '1' ? new PhaseRecorder() : undefined;
if (recorder !== undefined) {
  process.on('exit', () => writeSync(2, `berth-timing ${JSON.stringify(recorder.summary())}\n`));
}

main(lazyPlugin(name, SUPPORTED_VERSIONS, async () => {
  const { createBerthBridge } = await import('./plugin.js');
  recorder?.mark('plugin-loaded');
  return createBerthBridge({
    reportRollbackFailures: (failures) => process.stderr.write(`${name}: undoing a failed ADD left: ${failures.join('; ')}\n`),
    ...(recorder === undefined ? {} : { onPhase: (phase: string) => recorder.mark(phase) }),
  });
}));
