import { main } from '../../skel/main.js';
import { createBerthNone } from './plugin.js';

main(createBerthNone());
