import { relative } from 'node:path';
import type { OperatorCheckout } from '../config/toml-stages.ts';
import { type CheckoutOutcome, checkoutOperator } from './git-checkout.ts';

/**
 * `init`: every operator's code at its tag, one after the other, each outcome reported as one
 * line. Stops at the first failure (a GitError: exit 5).
 */
export async function initOperators(
  operators: readonly OperatorCheckout[],
  projectRoot: string,
  report: (line: string) => void,
): Promise<CheckoutOutcome[]> {
  const outcomes: CheckoutOutcome[] = [];
  for (const operator of operators) {
    const outcome = await checkoutOperator(operator, projectRoot);
    outcomes.push(outcome);
    report(describeOutcome(operator, outcome, projectRoot));
  }
  return outcomes;
}

function describeOutcome(
  operator: OperatorCheckout,
  outcome: CheckoutOutcome,
  projectRoot: string,
): string {
  const where = relative(projectRoot, operator.codeDir) || '.';
  const at = `${operator.gitTag} (${outcome.commit.slice(0, 10)})`;
  switch (outcome.action) {
    case 'cloned':
      return `${operator.operatorId}: cloned ${operator.gitRepo} at ${at} into ${where}`;
    case 'checked-out':
      return `${operator.operatorId}: checked out ${at} in ${where}, was ${outcome.previous?.slice(0, 10) ?? 'nothing'}`;
    case 'up-to-date':
      return `${operator.operatorId}: ${where} is at ${at} already`;
  }
}
