import { main } from '../../skel/main.js';
import { createBerthHostDevice } from './plugin.js';

main(createBerthHostDevice());
