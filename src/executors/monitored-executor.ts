import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
import type { WatchHandle } from '../monitor/watch-options.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';

/**
 * An executor of in-process stages (inline functions, modules) whose attempts the resource
 * monitor watches: they get the orchestrator's figures, attributed by time.
 */
export function monitorInProcess(executor: Executor, monitor: ResourceMonitor): Executor {
  if (!monitor.sampling) return executor;
  return {
    execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
      const watch = monitor.watchInProcess(task);
      return executor.execute(task, signal).then(finishWatch.bind(watch));
    },
    ...(executor.killAll && { killAll: () => executor.killAll?.() }),
    ...(executor.close && { close: () => executor.close?.() ?? Promise.resolve() }),
  };
}

/**
 * Adds the watch's figures to the result (`this`: the watch). Bound rather than a closure per
 * stage; each call's result is its own object, so it is set in place, not copied.
 */
function finishWatch(this: WatchHandle, result: StageResult): StageResult {
  const { summary } = this.finish();
  if (summary) result.resources = summary;
  return result;
}
