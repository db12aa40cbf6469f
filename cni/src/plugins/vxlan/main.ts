import { main } from '../../skel/main.js';
import { createBerthVxlan } from './plugin.js';

main(createBerthVxlan());
