/**
 * The macvlan scenarios of the side-by-side CNI suite, for berth-macvlan in both modes and the reference macvlan,
 * each exec'd as an engine does inside a test host netns.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { sideBySideSuite } from '../../src/cni/index.js';
import { macvlanScenarios } from '../../src/cni/macvlan-scenarios.js';

await sideBySideSuite(t, { scenarios: macvlanScenarios, hasReference: existsSync('/usr/lib/cni/macvlan') });
