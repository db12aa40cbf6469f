/**
 * The NetworkPolicy truth table: for each case, every (from pod, to pod, port, protocol) is probed through
 * the real kernel and compared with the suite's independent model. On failure the case's whole table is
 * printed (expected vs probed, disagreements marked X).
 */
import t from 'tap';
import { cases } from '../../src/netpol/cases.js';
import { describeCell, runCase } from '../../src/netpol/runner.js';
import { NetpolTopology } from '../../src/netpol/topology.js';

const topology = await NetpolTopology.create(t);

t.test('the suite has at least 30 cases over the 3×3 pods', async (t) => {
  t.ok(cases.length >= 30, `${cases.length} cases`);
  t.equal(topology.pods.length, 9);
});

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const outcome = await runCase(topology, testCase);
    const blocked = outcome.cells.filter((cell) => !cell.expected).length;
    if (outcome.mismatches.length > 0) {
      t.comment(`case "${testCase.name}": ${outcome.mismatches.length} of ${outcome.cells.length} probes disagree\n${outcome.table}`);
    }
    t.same(outcome.mismatches.map(describeCell), [], `${outcome.cells.length} probes (${blocked} expected blocked) match the model`);
  });
}
