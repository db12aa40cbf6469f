import { main } from '../../skel/main.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { lazyPlugin } from '../common/lazy.js';

main(lazyPlugin('berth-host-device', SUPPORTED_VERSIONS, async () => (await import('./plugin.js')).createBerthHostDevice()));
