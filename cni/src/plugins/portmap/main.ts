import { main } from '../../skel/main.js';
import { createBerthPortmap } from './plugin.js';

main(createBerthPortmap());
