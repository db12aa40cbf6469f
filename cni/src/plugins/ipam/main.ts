import { main } from '../../skel/main.js';
import { createBerthIpam } from './plugin.js';

main(createBerthIpam());
