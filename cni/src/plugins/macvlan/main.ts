import { main } from '../../skel/main.js';
import { createBerthMacvlan } from './plugin.js';

main(createBerthMacvlan());
