/**
 * The CNI conformance suite, for Berth in both modes (the shim served by berthd, and exec'd without it) and for the
 * reference plugins (/usr/lib/cni), each plugin exec'd as an engine does inside a test host netns.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { cniScenarios, sideBySideSuite } from '../../src/cni/index.js';

await sideBySideSuite(t, { scenarios: cniScenarios, hasReference: existsSync('/usr/lib/cni/bridge') });
