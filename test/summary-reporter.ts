/**
 * Prints one plain closing line after the run — `tests: N passed, N failed, N skipped` — that any CI can read,
 * after Vitest's own summary; plus `, N unhandled errors` when there were any (they fail the run too).
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped++;
      }
    }
    const unhandled = errors.length > 0 ? `, ${errors.length} unhandled error${errors.length === 1 ? '' : 's'}` : '';
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped${unhandled}\n`);
  }
}
