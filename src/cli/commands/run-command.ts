import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type DurableRunOptions, runDurable } from '../../durable/durable-run.ts';
import type { RunSelection } from '../../durable/plan.ts';
import { findRunInWorkspace } from '../../durable/run-lookup.ts';
import { createMonitor } from '../../executors/default-executors.ts';
import type { ValidPipeline } from '../../graph/validate.ts';
import { checkEnvironments, initEnvironments } from '../../init/environments/init-environments.ts';
import { PipelineLog, type PipelineLogSettings } from '../../logs/pipeline-log.ts';
import type { RunRecord } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { exitCodeOfRun } from '../exit-code.ts';
import { handleInterrupts } from '../interrupt.ts';
import {
  type ConfigFlags,
  type ConfiguredPipeline,
  isTomlFile,
  loadConfiguredPipeline,
  type PipelineLoadRequest,
} from '../load-valid-pipeline.ts';
import {
  envOverrideOf,
  type PipelineFileOptions,
  pipelineFileOf,
  refuseTomlFlags,
  resumeFlags,
  resumeLoadFlags,
  sameOverrides,
  setKey,
} from '../pipeline-file-options.ts';
import { JsonReporter, LineReporter, QuietReporter, type Reporter } from '../reporter.ts';
import { LiveReporter } from '../reporter-live.ts';
import { checkWorkspace, findWorkspaceRoot } from '../workspace.ts';
import { printDryRun } from './dry-run-command.ts';
import { pipelineLogSettings } from './pipeline-log-settings.ts';
import { exportRunConfig, runExecutors } from './run-secrets.ts';
import { prepareTomlRun } from './toml-prepare.ts';

export interface RunCommandOptions extends PipelineFileOptions, ConfigFlags {
  /** One JSON event per line on stdout. */
  json?: boolean;
  /** Only the final summary. */
  quiet?: boolean;
  /** @default the nearest ancestor with a `.project_root` marker, else the current directory */
  workspace?: string;
  /** false with `--no-cache`. */
  cache?: boolean;
  forceRestart?: boolean;
  dryRun?: boolean;
  /** Run this stage alone. */
  stage?: string;
  /** Run this stage and everything downstream. */
  from?: string;
  /** TOML: run this node's operators. */
  node?: string;
  /** Use the operator code and environments as init left them. */
  skipInit?: boolean;
}

/**
 * `gpipe run FILE`: loads (a TOML pipeline: and inits its operator code unless --skip-init),
 * runs durably with the local executors, reports; returns the exit code.
 */
export async function runCommand(
  fileArgument: string | undefined,
  options: RunCommandOptions,
  io: CliIo,
): Promise<number> {
  const file = pipelineFileOf(fileArgument, options);
  const workspaceRoot = workspaceOf(options, io);
  let selection: RunSelection | undefined =
    options.stage !== undefined
      ? { stage: options.stage }
      : options.from !== undefined
        ? { from: options.from }
        : undefined;
  let configured: ConfiguredPipeline;
  let earlier: RunRecord | undefined;
  let cache = options.cache !== false;
  if (isTomlFile(file)) {
    // Init's lines must not mix with --json events on stdout.
    const out = options.json ? io.stderr : io.stdout;
    const prepared = await prepareTomlRun(
      file,
      { ...options, planOnly: options.dryRun === true },
      io,
      workspaceRoot,
      (line) => out.write(`${line}\n`),
    );
    configured = prepared.configured;
    if (prepared.stages) selection = { stages: prepared.stages };
  } else {
    refuseTomlFlags(file, {
      '--node': options.node,
      '--config-root': options.configRoot,
      '--operators-dir': options.operatorsDir,
    });
    // With checkpoint.enabled this may go on with the pipeline's unfinished run, as `gpipe
    // resume` would: with the flags that run was started with.
    const loaded = await loadGoingOn(
      file,
      io,
      { projectRoot: workspaceRoot },
      options,
      (pipeline) =>
        options.forceRestart
          ? Promise.resolve(undefined)
          : findRunInWorkspace(workspaceRoot, pipeline, { selection }),
      ', or start a new run with --force-restart',
    );
    configured = loaded.configured;
    earlier = loaded.earlier;
    cache = loaded.cache;
    if (options.dryRun !== true) {
      // As for TOML: environments are made first, unless --skip-init keeps init apart.
      const out = options.json ? io.stderr : io.stdout;
      const stages = configured.pipeline.stages;
      if (options.skipInit)
        await checkEnvironments(stages, 'module', workspaceRoot, `gpipe init ${file}`);
      else
        await initEnvironments(stages, 'module', workspaceRoot, (line) => out.write(`${line}\n`));
    }
  }
  return runOrPreview(
    configured.pipeline,
    {
      workspaceRoot,
      ...(selection && { selection }),
      // The run found above, by its id: the one whose flags the pipeline was loaded with.
      ...(earlier && { resume: earlier.runId }),
      cache,
      forceRestart: options.forceRestart === true,
      startedWith: startedWith(options, io),
    },
    options,
    io,
    {
      ...(configured.credentials && { credentials: configured.credentials.values }),
      onStarted: () => exportRunConfig(configured, file, workspaceRoot, io, options.configRoot),
      log: pipelineLogSettings(configured, io.redactor),
    },
  );
}

/**
 * Loads a YAML or TypeScript pipeline that may go on with an earlier run, which `find` knows
 * only once the pipeline is loaded (by its name and `checkpoint`). That run's flags then apply
 * (`resumeFlags`), and where they read other override files than those given now, the pipeline
 * is loaded again with them.
 */
export async function loadGoingOn(
  file: string,
  io: CliIo,
  request: PipelineLoadRequest & { projectRoot: string },
  given: ConfigFlags & { cache?: boolean },
  find: (pipeline: ValidPipeline) => Promise<RunRecord | undefined>,
  wayOut = '',
): Promise<{ configured: ConfiguredPipeline; earlier?: RunRecord; cache: boolean }> {
  const configured = await loadConfiguredPipeline(file, io, {
    ...request,
    ...configFlagsOf(given),
  });
  const earlier = await find(configured.pipeline);
  if (!earlier) return { configured, cache: given.cache !== false };
  const flags = resumeFlags(earlier, given, io, wayOut);
  return {
    configured: sameOverrides(flags, given, io)
      ? configured
      : await loadConfiguredPipeline(file, io, { ...request, ...resumeLoadFlags(flags) }),
    earlier,
    cache: flags.cache,
  };
}

/** Just the config flags, for a load request. */
export function configFlagsOf(flags: ConfigFlags): ConfigFlags {
  return {
    ...(flags.override && { override: flags.override }),
    ...(flags.set && { set: flags.set }),
  };
}

/** `--workspace`, else (the seed's) `--project-root`, else the one found from the working directory. */
export function workspaceOf(
  options: { workspace?: string; projectRoot?: string },
  io: CliIo,
): string {
  const given = options.workspace ?? options.projectRoot;
  return given === undefined ? findWorkspaceRoot(io.cwd) : checkWorkspace(given, io.cwd);
}

type RunRequest = Omit<DurableRunOptions, 'pipeline' | 'executors'>;

/** What a run of the CLI adds to the engine's: credentials, the pipeline log, a start hook. */
export interface RunExtras {
  /** The credentials file's variables, for command stages. */
  credentials?: Readonly<Record<string, string>>;
  /** Runs once the run has started (its plan held): a run refused before leaves nothing behind. */
  onStarted?: () => void;
  /** @default the run directory's pipeline.log at INFO, secrets masked */
  log?: PipelineLogSettings;
}

/** Runs the pipeline as asked, or with `--dry-run` prints what a run would do. */
export async function runOrPreview(
  pipeline: ValidPipeline,
  request: RunRequest,
  options: RunCommandOptions,
  io: CliIo,
  extras: RunExtras = {},
): Promise<number> {
  if (options.dryRun) return printDryRun(pipeline, request, options, io);
  const pipelineLog = new PipelineLog(extras.log ?? pipelineLogSettings(undefined, io.redactor));
  const monitor = createMonitor(pipeline.spec);
  const executors = runExecutors(pipeline.spec, io.redactor, extras.credentials, monitor);
  const redactor = io.redactor;
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
    const result = await runDurable({
      ...request,
      pipeline,
      executors,
      signal: controller.signal,
      monitor,
      onEvent: (event) => {
        if (event.event === 'run_started') extras.onStarted?.();
        pipelineLog.onEvent(event);
        reporter.onEvent(event);
      },
      ...(redactor && !redactor.isEmpty && { redact: (text: string) => redactor.redact(text) }),
    });
    reporter.finish(result, performance.now() - started);
    for (const warning of result.warnings) reporter.notice(`warning: ${warning}`);
    return exitCodeOfRun(result);
  } finally {
    pipelineLog.close();
    stopHandling();
    monitor.close();
    reporter.close();
    await Promise.all([...new Set(Object.values(executors))].map((executor) => executor.close?.()));
  }
}

/**
 * The flags a run was started with, kept with it so that `gpipe status` can show them and a
 * resume goes on as the run was started (`resumeFlags`): a TOML pipeline loaded as it was, its
 * override files (PIPELINE_CONFIG_OVERRIDE_S3_PATH's as `envOverride`), its `--set` keys asked
 * for again, `--no-cache`.
 */
function startedWith(options: RunCommandOptions, io: CliIo): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (options.stage !== undefined) flags.stage = options.stage;
  if (options.from !== undefined) flags.from = options.from;
  if (options.node !== undefined) flags.node = options.node;
  if (options.configRoot !== undefined) flags.configRoot = resolve(io.cwd, options.configRoot);
  if (options.operatorsDir !== undefined) flags.operatorsDir = options.operatorsDir;
  if (options.cache === false) flags.cache = false;
  if (options.forceRestart) flags.forceRestart = true;
  // File names only: a --set value may be a secret, and run.json is no place for one.
  if (options.override?.length) flags.override = options.override;
  // The variable's file is as much a part of the config: a resume without it set reads it too.
  const envOverride = envOverrideOf(io.env);
  if (envOverride !== undefined) flags.envOverride = envOverride;
  if (options.set?.length) flags.set = options.set.map(setKey);
  return flags;
}

function createReporter(options: RunCommandOptions, io: CliIo): Reporter {
  const palette = paletteFor(io.stdout.isTTY === true, io.env);
  if (options.json) return new JsonReporter(io);
  if (options.quiet) return new QuietReporter(io, palette);
  return io.stdout.isTTY ? new LiveReporter(io, palette) : new LineReporter(io, palette);
}
