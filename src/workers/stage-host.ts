/**
 * What runs inside a thread or process worker: module stages, one at a time, with the same
 * context (nested execution included) as on the orchestrator's event loop. Module files stay
 * loaded between stages: a warm worker runs the next stage without loading them again.
 */
import { PipelineError, serializeError } from '../errors.ts';
import { ModuleCaller } from '../executors/call-module.ts';
import type { StageResult } from '../executors/executor.ts';
import { createStageContext, logErrorStack } from '../executors/stage-context.ts';
import { redactResult } from '../secrets/redacting-executor.ts';
import { Redactor } from '../secrets/redactor.ts';
import type { StageLogCapture } from './stage-log-capture.ts';
import type { HostChannel, RunStageMessage } from './stage-protocol.ts';

/** The parent ends the worker on timeout or cancellation, so this signal never aborts. */
const unaborted = new AbortController().signal;

/**
 * Serves `run` messages on `channel`. `capture`: write each stage's stdout and stderr to its log.
 * The secrets that messages carry are masked in all the worker writes and returns: its log
 * lines, what it prints, its error stacks and results.
 */
export function serveStages(
  channel: HostChannel,
  options: { pid?: number; capture?: StageLogCapture } = {},
): void {
  const { pid, capture } = options;
  const caller = new ModuleCaller();
  // One run's pool: secrets only accumulate, and a warm worker keeps its compiled pattern.
  const redactor = new Redactor();
  const finish = (result: StageResult): StageResult =>
    redactResult(pid === undefined ? result : { ...result, pid }, redactor);
  channel.onMessage((message) => {
    const redact = addSecrets(redactor, message.secrets);
    capture?.attach(message.task.paths.stageDir, redact);
    void run(caller, message, redact).then((result) => {
      capture?.detach();
      try {
        channel.post({ type: 'done', result: finish(result) });
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
        channel.post({ type: 'done', result: finish(failed) });
      }
    });
  });
}

/** Adds `secrets` to `redactor`; its masking function, or undefined with nothing to mask. */
function addSecrets(
  redactor: Redactor,
  secrets: readonly string[] | undefined,
): ((text: string) => string) | undefined {
  for (const secret of secrets ?? []) redactor.add(secret);
  return redactor.isEmpty ? undefined : (text) => redactor.redact(text);
}

async function run(
  caller: ModuleCaller,
  message: RunStageMessage,
  redact: ((text: string) => string) | undefined,
): Promise<StageResult> {
  const startedAt = Date.now();
  const { task } = message;
  try {
    if (task.spec.kind !== 'module') {
      throw new PipelineError(
        'EXECUTOR_MISMATCH',
        `a worker runs module stages only, not ${task.spec.kind} stages`,
      );
    }
    const context = createStageContext(task, unaborted, {
      maxNestedDepth: message.maxNestedDepth,
      ...(redact && { redact }),
    });
    const output = await caller.call(task.spec, task.inputs, context);
    return { status: 'succeeded', output, startedAt, endedAt: Date.now() };
  } catch (error) {
    const serialized = serializeError(error);
    logErrorStack(task.paths.stageDir, serialized, redact);
    return { status: 'failed', error: serialized, startedAt, endedAt: Date.now() };
  }
}
