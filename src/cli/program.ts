import { Argument, Command, Option } from 'commander';
import { type SchemaKind, schemaKinds } from '../config/schema-kinds.ts';
import { InputError } from '../errors.ts';
import type { CliIo } from './cli-io.ts';
import type { ExplainCommandOptions } from './commands/explain-command.ts';
import type { InitCommandOptions } from './commands/init-command.ts';
import type { LogsCommandOptions } from './commands/logs-command.ts';
import type { MetricsCommandOptions } from './commands/metrics-command.ts';
import type { ResumeCommandOptions } from './commands/resume-command.ts';
import type { RunCommandOptions } from './commands/run-command.ts';
import type { RunsCommandOptions } from './commands/runs-command.ts';
import { graphFormats } from './graph-render.ts';
import type { ConfigFlags } from './load-valid-pipeline.ts';
import type { PipelineFileOptions } from './pipeline-file-options.ts';

export interface ProgramOptions {
  name: string;
  version: string;
  io: CliIo;
  /** Receives the exit code of the command that ran. */
  setExitCode: (code: number) => void;
}

const workspaceHelp =
  'where runs are kept (.gpipe/) and commands run (default: the nearest directory upwards holding a .project_root file, else the current directory)';

/** Commander's way to take a flag more than once. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--override FILE` and `--set KEY=VALUE`, for the commands that load a config. */
function addConfigFlags(command: Command): Command {
  return command
    .option(
      '--override <file>',
      'deep-merge this YAML or TOML file over the config (repeatable; after PIPELINE_CONFIG_OVERRIDE_S3_PATH)',
      collect,
    )
    .option(
      '--set <key=value>',
      'set one value, such as pipeline.execution.mode=sequential (repeatable; after the overrides)',
      collect,
    );
}

const fileHelp =
  'pipeline file: YAML (.yaml, .yml), TOML (pipeline.toml) or a TypeScript / JavaScript module exporting a pipeline';

/** The seed's flags (pipeline-cli) that say where a pipeline's pieces are. */
function withFileOptions(command: Command, operatorsDir: boolean): Command {
  command
    .option('-c, --conf <file>', 'the pipeline file (instead of FILE)')
    .option(
      '--config-root <dir>',
      'TOML: the directory holding nodes/ and operators/ (default: the pipeline file’s)',
    )
    .option(
      '-p, --project-root <dir>',
      'TOML: the project root, also the workspace (default: found by .project_root)',
    );
  if (operatorsDir) {
    command.option(
      '-o, --operators-dir <dir>',
      'TOML: where operator code is checked out, relative to the project root (default: operators)',
    );
  }
  return command;
}

/**
 * The command line. Each command's module is imported only when that command runs, so that
 * `--help` and bad arguments answer quickly. Parse errors throw (exitOverride) instead of
 * exiting, and print nothing themselves: the caller turns them into one line and exit code 2.
 */
export function createProgram({ name, version, io, setExitCode }: ProgramOptions): Command {
  const program = new Command(name)
    .description('General Pipeline: run pipelines of stages described in YAML or TypeScript.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `
Examples:
  ${name} validate pipeline.yaml
  ${name} run pipeline.yaml
  ${name} run -c conf/pipeline.toml --node node_1 --skip-init
  ${name} run pipeline.ts --json | jq .
  ${name} resume                       (the latest unfinished run)
  ${name} status
  ${name} explain pipeline.yaml train
  ${name} graph pipeline.yaml --format mermaid

Exit codes: 0 ok, 1 config error, 2 bad input, 3 a stage failed, 4 a stage ran out of a
resource (timeout, memory), 5 environment error, 130 interrupted, 70 internal error.`,
    );

  const run = addConfigFlags(program.command('run'))
    .description('run a pipeline on this machine (TOML: after init, unless --skip-init)')
    .argument('[file]', fileHelp)
    .addOption(
      new Option(
        '--json',
        'print one JSON event per line on stdout, and nothing else there',
      ).conflicts('quiet'),
    )
    .option('-q, --quiet', 'print only the final summary')
    .option('-w, --workspace <dir>', workspaceHelp)
    .option('--stage <name>', 'run this stage alone, taking its inputs from earlier runs')
    .option('--operator <name>', 'the same as --stage (the seed’s -op)')
    .option(
      '-n, --node <node>',
      'TOML: run this node’s operators, taking their inputs from earlier runs',
    )
    .option('--from <name>', 'run this stage and everything downstream of it')
    .option('--skip-init', 'use the operator code and environments as init left them')
    .option('--no-cache', 'run every stage, reusing no cached output')
    .option('--force-restart', 'start a new run even where one would be resumed; reuse nothing')
    .option('--dry-run', 'print what would run, be reused or left out; run nothing');
  withFileOptions(run, true).action(
    async (file: string | undefined, options: RunCommandOptions & { operator?: string }) => {
      const { operator, ...rest } = options;
      const chosen = [
        ['--stage', rest.stage],
        ['--operator', operator],
        ['--from', rest.from],
        ['--node', rest.node],
      ].filter(([, value]) => value !== undefined);
      if (chosen.length > 1) {
        throw new InputError(
          `${chosen.map(([flag]) => flag).join(' and ')} cannot be used together`,
        );
      }
      const { runCommand } = await import('./commands/run-command.ts');
      setExitCode(
        await runCommand(file, operator === undefined ? rest : { ...rest, stage: operator }, io),
      );
    },
  );

  withFileOptions(
    program
      .command('init')
      .description(
        'clone each operator’s git_repo at its git_tag (TOML) and make the environments stages run in (again: nothing to do)',
      )
      .argument('[file]', 'the pipeline file')
      .option('-w, --workspace <dir>', workspaceHelp),
    true,
  ).action(async (file: string | undefined, options: InitCommandOptions) => {
    const { initCommand } = await import('./commands/init-command.ts');
    setExitCode(await initCommand(file, options, io));
  });

  addConfigFlags(program.command('resume'))
    .description('go on with a run where it stopped: its finished stages do not run again')
    .argument('[run-id]', 'the run (default: the latest unfinished one)')
    .option('-f, --file <file>', 'the pipeline file (default: the one the run was started from)')
    .addOption(new Option('--json', 'print one JSON event per line on stdout').conflicts('quiet'))
    .option('-q, --quiet', 'print only the final summary')
    .option('-w, --workspace <dir>', workspaceHelp)
    .option('--no-cache', 'run every remaining stage, reusing no cached output')
    .option('--dry-run', 'print what would run or be reused; run nothing')
    .action(async (runId: string | undefined, options: ResumeCommandOptions) => {
      const { resumeCommand } = await import('./commands/resume-command.ts');
      setExitCode(await resumeCommand(runId, options, io));
    });

  program
    .command('runs')
    .description("list the workspace's runs, newest first")
    .option('-p, --pipeline <name>', 'only the runs of this pipeline')
    .option('-n, --limit <count>', 'how many (default 20)')
    .option('--json', 'print them as JSON')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (options: RunsCommandOptions) => {
      const { runsCommand } = await import('./commands/runs-command.ts');
      setExitCode(await runsCommand(options, io));
    });

  program
    .command('status')
    .description('show every stage of a run: status, attempts, duration, exit code')
    .argument('[run-id]', 'the run (default: the latest)')
    .option('--json', 'print it as JSON')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (runId: string | undefined, options: { json?: boolean; workspace?: string }) => {
      const { statusCommand } = await import('./commands/status-command.ts');
      setExitCode(await statusCommand(runId, options, io));
    });

  program
    .command('logs')
    .description("print a stage's stdout and stderr, or every stage's interleaved by time")
    .argument('<run-id>', 'the run')
    .argument('[stage]', 'the stage (default: all of them, each line prefixed with [stage])')
    .option('-f, --follow', 'keep printing new lines until the stage (or the run) has ended')
    .option('--stderr', 'only stderr lines')
    .option('--since <time>', 'only lines since a duration ago (5m, 2h) or an ISO time')
    .option('--json', 'print each line as JSON: {ts (ms since the epoch), stage, stream, line}')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (runId: string, stage: string | undefined, options: LogsCommandOptions) => {
      const { logsCommand } = await import('./commands/logs-command.ts');
      setExitCode(await logsCommand(runId, stage, options, io));
    });

  program
    .command('metrics')
    .description('print the metrics a stage wrote to $GP_METRICS_FILE, with a sparkline per series')
    .argument('<run-id>', 'the run')
    .argument('<stage>', 'the stage')
    .option('--json', 'one JSON object per metrics line')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (runId: string, stage: string, options: MetricsCommandOptions) => {
      const { metricsCommand } = await import('./commands/metrics-command.ts');
      setExitCode(await metricsCommand(runId, stage, options, io));
    });

  program
    .command('show')
    .description("print a stage's output.json: its output with _meta")
    .argument('<run-id>', 'the run')
    .argument('<stage>', 'the stage')
    .option('--json', 'print it as one line of JSON, its resources figures under "resources"')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(
      async (runId: string, stage: string, options: { json?: boolean; workspace?: string }) => {
        const { showCommand } = await import('./commands/show-command.ts');
        setExitCode(await showCommand(runId, stage, options, io));
      },
    );

  withFileOptions(
    addConfigFlags(program.command('explain'))
      .description('say whether a stage would run or hit the cache, and what changed')
      .usage('[options] <file> <stage>  (or -c <file> <stage>)')
      .argument('[file]', fileHelp)
      .argument('[stage]', 'the stage')
      .option('--run <run-id>', 'take upstream outputs from this run (default: their latest)')
      .option('--json', 'print it as JSON')
      .option('-w, --workspace <dir>', workspaceHelp),
    true,
  ).action(
    async (file: string | undefined, stage: string | undefined, options: ExplainCommandOptions) => {
      const { explainCommand } = await import('./commands/explain-command.ts');
      setExitCode(await explainCommand(file, stage, options, io));
    },
  );

  const cache = program.command('cache').description('manage cached stage outputs');
  cache
    .command('clear')
    .description('forget every cached output (run directories stay)')
    .option('-p, --pipeline <name>', "only this pipeline's")
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (options: { pipeline?: string; workspace?: string }) => {
      const { cacheClearCommand } = await import('./commands/cache-command.ts');
      setExitCode(await cacheClearCommand(options, io));
    });
  cache
    .command('gc')
    .description('forget cached outputs not used recently')
    .requiredOption('--keep-days <days>', 'keep outputs used within this many days')
    .option('-w, --workspace <dir>', workspaceHelp)
    .action(async (options: { keepDays: string; workspace?: string }) => {
      const { cacheGcCommand } = await import('./commands/cache-command.ts');
      setExitCode(await cacheGcCommand(options, io));
    });

  withFileOptions(
    addConfigFlags(program.command('validate'))
      .description('check a pipeline file and report every problem at once; runs nothing')
      .argument('[file]', fileHelp),
    false,
  ).action(async (file: string | undefined, options: PipelineFileOptions & ConfigFlags) => {
    const { validateCommand } = await import('./commands/validate-command.ts');
    setExitCode(await validateCommand(file, options, io));
  });

  program
    .command('encode')
    .description('print TEXT as a base64:// value, to write in a config in place of the text')
    .argument('<text>', 'the text (a secret: it is masked wherever the decoded value appears)')
    .action(async (text: string) => {
      const { encodeCommand } = await import('./commands/codec-command.ts');
      setExitCode(encodeCommand(text, io));
    });

  program
    .command('decode')
    .description('print the text a base64:// value holds')
    .argument('<value>', 'a base64://… value')
    .action(async (value: string) => {
      const { decodeCommand } = await import('./commands/codec-command.ts');
      setExitCode(decodeCommand(value, io));
    });

  program
    .command('schema')
    .description('print the JSON Schema of a kind of pipeline file, for editor completion')
    .addArgument(
      new Argument('[kind]', 'yaml, or a TOML file: toml-pipeline, toml-node, toml-operator')
        .choices(schemaKinds)
        .default('yaml'),
    )
    .action(async (kind: SchemaKind) => {
      const { schemaCommand } = await import('./commands/schema-command.ts');
      setExitCode(schemaCommand(kind, io));
    });

  program
    .command('graph')
    .description("print a pipeline's stages and dependencies")
    .argument('<file>', fileHelp)
    .addOption(
      new Option('-f, --format <format>', 'text (stages wave by wave), mermaid or dot (Graphviz)')
        .choices(graphFormats)
        .default('text'),
    )
    .action(async (file: string, options: { format: (typeof graphFormats)[number] }) => {
      const { graphCommand } = await import('./commands/graph-command.ts');
      setExitCode(await graphCommand(file, options, io));
    });

  return program;
}
