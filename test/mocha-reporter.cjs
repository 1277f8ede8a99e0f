// Mocha's spec reporter plus one plain closing line, "N passed, N failed, N skipped", which CI
// tooling reads to tell a run that tested something from one that ran nothing.
'use strict';
const Mocha = require('mocha');

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats ?? {};
      // After the spec reporter's epilogue, which also listens for the end of the run.
      process.nextTick(() => {
        process.stdout.write(`\n${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`);
      });
    });
  }
}

module.exports = SpecWithSummary;
