/**
 * General Pipeline: define a pipeline of typed stages and run it.
 *
 * @example
 * import { command, pipeline, python, stage } from 'general-pipeline';
 *
 * const numbers = stage('numbers', async () => [1, 2, 3]);
 * const total = stage('total', { deps: { numbers } }, ({ numbers }) => numbers.reduce((a, b) => a + b, 0));
 * const report = command('report', { after: [total], argv: ['python3', '-c', 'print("done")'] });
 * // score.py: def score(context): return context.get_result("total") * 2
 * const score = python<number>('score', { after: [total], script: 'score.py:score', dir: import.meta.dirname });
 *
 * export default pipeline('example', [report, score]);
 * // gpipe run example.ts   — or:  await pipeline('example', [report, score]).run()
 */
import { mapStage } from './api/map-stage.ts';
import { stage as plainStage } from './api/stage.ts';

export {
  type Depth,
  type ElementOf,
  type ItemOf,
  type MapFunction,
  type MapOptions,
  type MappedStage,
  mapStage,
  type Nest,
  type OutputOf,
} from './api/map-stage.ts';
export { type Pipeline, type PipelineOptions, pipeline } from './api/pipeline.ts';
export {
  type CommandOptions,
  command,
  type FunctionStageOptions,
  type InputsOf,
  type ModuleStageOptions,
  type PythonOptions,
  python,
  type RetryOptions,
  type Stage,
  type StageOptions,
} from './api/stage.ts';

/**
 * A stage (see `./api/stage.ts`); `stage.map(name, { over }, (item, context, inputs) => …)` is a
 * mapped one (dynamic fan-out, see `mapStage`).
 */
export const stage: typeof plainStage & { readonly map: typeof mapStage } = Object.assign(
  plainStage,
  { map: mapStage },
);
export { type FileRef, fileRef, isFileRef } from './artifacts/file-ref.ts';
export {
  ConfigError,
  type ConfigIssue,
  ExitCode,
  NonRetryableError,
  PipelineError,
  StageError,
} from './errors.ts';
export type { Executor, ResourceGrant, StageResult, StageTask } from './executors/executor.ts';
export type { NestedContext, NestedTask } from './executors/nested.ts';
export type { StageContext, StageLogger, StageResources } from './executors/stage-context.ts';
export type {
  ConcurrencyGroup,
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
