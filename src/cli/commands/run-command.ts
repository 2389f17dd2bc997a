import { performance } from 'node:perf_hooks';
import { loadPipeline } from '../../config/load-pipeline.ts';
import { createExecutors } from '../../executors/default-executors.ts';
import { runPipeline } from '../../scheduler/engine.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { exitCodeOfRun } from '../exit-code.ts';
import { handleInterrupts } from '../interrupt.ts';
import { pipelinePath } from '../load-valid-pipeline.ts';
import { JsonReporter, LineReporter, QuietReporter, type Reporter } from '../reporter.ts';
import { LiveReporter } from '../reporter-live.ts';
import { checkWorkspace, findWorkspaceRoot } from '../workspace.ts';

export interface RunCommandOptions {
  /** One JSON event per line on stdout. */
  json?: boolean;
  /** Only the final summary. */
  quiet?: boolean;
  /** @default the nearest ancestor with a `.project_root` marker, else the current directory */
  workspace?: string;
}

/** `gpipe run FILE`: loads, runs with the local executors, reports; returns the exit code. */
export async function runCommand(
  file: string,
  options: RunCommandOptions,
  io: CliIo,
): Promise<number> {
  const workspaceRoot =
    options.workspace === undefined
      ? findWorkspaceRoot(io.cwd)
      : checkWorkspace(options.workspace, io.cwd);
  const spec = await loadPipeline(pipelinePath(file, io));
  const executors = createExecutors(spec);
  const reporter = createReporter(options, io);
  const controller = new AbortController();
  const stopHandling = handleInterrupts({
    controller,
    executors: Object.values(executors),
    notice: (message) => reporter.notice(message),
    beforeExit: () => reporter.close(),
  });
  const started = performance.now();
  try {
    const result = await runPipeline(spec, {
      executors,
      workspaceRoot,
      signal: controller.signal,
      onEvent: (event) => reporter.onEvent(event),
    });
    reporter.finish(result, performance.now() - started);
    return exitCodeOfRun(result);
  } finally {
    stopHandling();
    reporter.close();
    await Promise.all([...new Set(Object.values(executors))].map((executor) => executor.close?.()));
  }
}

function createReporter(options: RunCommandOptions, io: CliIo): Reporter {
  const palette = paletteFor(io.stdout.isTTY === true, io.env);
  if (options.json) return new JsonReporter(io);
  if (options.quiet) return new QuietReporter(io, palette);
  return io.stdout.isTTY ? new LiveReporter(io, palette) : new LineReporter(io, palette);
}
