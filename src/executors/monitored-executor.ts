import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
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
      return executor.execute(task, signal).then((result) => {
        // Each call's result is its own object: set in place, not copied for every stage.
        const { summary } = watch.finish();
        if (summary) result.resources = summary;
        return result;
      });
    },
    ...(executor.killAll && { killAll: () => executor.killAll?.() }),
    ...(executor.close && { close: () => executor.close?.() ?? Promise.resolve() }),
  };
}
