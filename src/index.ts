/**
 * General Pipeline: define a pipeline of typed stages and run it.
 *
 * @example
 * import { command, pipeline, stage } from 'general-pipeline';
 *
 * const numbers = stage('numbers', async () => [1, 2, 3]);
 * const total = stage('total', { deps: { numbers } }, ({ numbers }) => numbers.reduce((a, b) => a + b, 0));
 * const report = command('report', { after: [total], argv: ['python3', '-c', 'print("done")'] });
 *
 * export default pipeline('example', [total, report]);
 * // gpipe run example.ts   — or:  await pipeline('example', [total, report]).run()
 */
export { type Pipeline, type PipelineOptions, pipeline } from './api/pipeline.ts';
export {
  type CommandOptions,
  command,
  type FunctionStageOptions,
  type InputsOf,
  type ModuleStageOptions,
  type RetryOptions,
  type Stage,
  type StageOptions,
  stage,
} from './api/stage.ts';
export { type FileRef, fileRef, isFileRef } from './artifacts/file-ref.ts';
export {
  ConfigError,
  type ConfigIssue,
  ExitCode,
  NonRetryableError,
  PipelineError,
  StageError,
} from './errors.ts';
export type { Executor, StageResult, StageTask } from './executors/executor.ts';
export type { NestedContext, NestedTask } from './executors/nested.ts';
export type { StageContext, StageLogger } from './executors/stage-context.ts';
export type {
  PipelineSpec,
  RunStatus,
  StageSpec,
  StageStatus,
  WorkerType,
} from './graph/pipeline.ts';
export { type Clock, ManualClock } from './scheduler/clock.ts';
export {
  type RunOptions,
  type RunResult,
  runPipeline,
  type StageOutcome,
} from './scheduler/engine.ts';
export type { RunEvent } from './scheduler/events.ts';
