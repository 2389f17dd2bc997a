/**
 * What runs inside a thread or process worker: module stages, one at a time, with the same
 * context (nested execution included) as on the orchestrator's event loop. Module files stay
 * loaded between stages: a warm worker runs the next stage without loading them again.
 */
import { PipelineError, serializeError } from '../errors.ts';
import { ModuleCaller } from '../executors/call-module.ts';
import type { StageResult } from '../executors/executor.ts';
import { createStageContext, logErrorStack } from '../executors/stage-context.ts';
import type { StageLogCapture } from './stage-log-capture.ts';
import type { HostChannel, RunStageMessage } from './stage-protocol.ts';

/** The parent ends the worker on timeout or cancellation, so this signal never aborts. */
const unaborted = new AbortController().signal;

/** Serves `run` messages on `channel`. `capture`: write each stage's stdout and stderr to its log. */
export function serveStages(
  channel: HostChannel,
  options: { pid?: number; capture?: StageLogCapture } = {},
): void {
  const { pid, capture } = options;
  const caller = new ModuleCaller();
  const withPid = (result: StageResult): StageResult =>
    pid === undefined ? result : { ...result, pid };
  channel.onMessage((message) => {
    capture?.attach(message.task.paths.stageDir);
    void run(caller, message).then((result) => {
      capture?.detach();
      try {
        channel.post({ type: 'done', result: withPid(result) });
      } catch (error) {
        // An output that cannot cross the boundary (a function, a class instance with handles).
        const problem = new PipelineError(
          'OUTPUT_NOT_SERIALIZABLE',
          `stage '${message.task.stage}' returned an output that cannot leave its worker: ${(error as Error).message}`,
        );
        const failed: StageResult = {
          status: 'failed',
          error: serializeError(problem),
          startedAt: result.startedAt,
          endedAt: Date.now(),
        };
        channel.post({ type: 'done', result: withPid(failed) });
      }
    });
  });
}

async function run(caller: ModuleCaller, message: RunStageMessage): Promise<StageResult> {
  const startedAt = Date.now();
  const { task } = message;
  try {
    if (task.spec.kind !== 'module') {
      throw new PipelineError(
        'EXECUTOR_MISMATCH',
        `a worker runs module stages only, not ${task.spec.kind} stages`,
      );
    }
    const context = createStageContext(task, unaborted, { maxNestedDepth: message.maxNestedDepth });
    const output = await caller.call(task.spec, task.inputs, context);
    return { status: 'succeeded', output, startedAt, endedAt: Date.now() };
  } catch (error) {
    const serialized = serializeError(error);
    // No masking here (a worker has no secrets to mask with): as for what the stage prints.
    logErrorStack(task.paths.stageDir, serialized);
    return { status: 'failed', error: serialized, startedAt, endedAt: Date.now() };
  }
}
