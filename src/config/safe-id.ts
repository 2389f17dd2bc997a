import * as z from 'zod';
import { stageNameProblem } from '../graph/validate.ts';

/**
 * A string that names a file or directory as well as a thing: one safe path segment (SPEC H1).
 * `what` completes "is not a usable …" in the message.
 */
export function safeIdSchema(what: string) {
  return z
    .string()
    .min(1, 'must not be empty')
    .check((context) => {
      const problem = stageNameProblem(context.value);
      if (problem) {
        context.issues.push({
          code: 'custom',
          message: `is not a usable ${what}: ${problem}`,
          input: context.value,
        });
      }
    });
}
