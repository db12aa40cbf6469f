#!/usr/bin/env node
'use strict';
// berth-runtime (the bin/berth-runtime symlink points here, so Node loads it as CommonJS, bundled: see scripts/bundle.mjs).
require('../../cni/dist/bundle/load.cjs')('berth-runtime');
