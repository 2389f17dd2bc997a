// The TypeScript end of the python-modules example: it reads the Python summary like any
// other upstream output.
import type { StageContext } from '../../src/index.ts';

interface Summary {
  total: number;
  failures: number;
}

export function report(context: StageContext): string {
  const summary = context.getResult('summary') as Summary;
  return `total ${summary.total}, ${summary.failures} failed`;
}
