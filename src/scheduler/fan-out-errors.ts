import { PipelineError, type SerializedError, serializeError } from '../errors.ts';
import type { StageSpec } from '../graph/pipeline.ts';

/** How many failed items a mapped stage's error names before it only counts the rest. */
const namedItems = 5;

/**
 * The error of a mapped stage that failed: the output it was mapped over was not a list
 * (`NOT_A_LIST`), or some of its items failed (`ITEMS_FAILED`, naming them).
 */
export function fanOutError(
  stage: StageSpec,
  failedItems: readonly string[],
  notAList?: { name: string; output: unknown },
): SerializedError {
  if (notAList) {
    return serializeError(
      new PipelineError(
        'NOT_A_LIST',
        `stage '${stage.name}' is mapped over '${notAList.name}', whose output is ${describe(notAList.output)}, not a list`,
      ),
    );
  }
  const shown = failedItems.slice(0, namedItems).join(', ');
  const more =
    failedItems.length > namedItems ? ` and ${failedItems.length - namedItems} more` : '';
  const items = failedItems.length === 1 ? 'item' : 'items';
  return serializeError(
    new PipelineError(
      'ITEMS_FAILED',
      `${failedItems.length} ${items} of '${stage.name}' failed: ${shown}${more}`,
    ),
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'string' ? 'a string' : `a ${typeof value}`} (${String(value).slice(0, 40)})`;
}
