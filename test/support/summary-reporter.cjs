// Prints one plain closing line ("jest: N passed, N failed, N skipped") that CI log readers understand,
// preceded by the name of every skipped test, so that a skip is never silent.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status === 'pending' || test.status === 'todo') process.stdout.write(`skipped: ${test.fullName}\n`);
      }
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
