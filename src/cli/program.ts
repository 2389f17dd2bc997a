import { Command, Option } from 'commander';
import type { CliIo } from './cli-io.ts';
import { graphFormats } from './graph-render.ts';

export interface ProgramOptions {
  name: string;
  version: string;
  io: CliIo;
  /** Receives the exit code of the command that ran. */
  setExitCode: (code: number) => void;
}

const fileHelp =
  'pipeline file: YAML (.yaml, .yml) or a TypeScript / JavaScript module exporting a pipeline';

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
  ${name} run pipeline.ts --json | jq .
  ${name} graph pipeline.yaml --format mermaid

Exit codes: 0 ok, 1 config error, 2 bad input, 3 a stage failed, 4 a stage ran out of a
resource (timeout, memory), 5 environment error, 130 interrupted, 70 internal error.`,
    );

  program
    .command('run')
    .description('run a pipeline on this machine')
    .argument('<file>', fileHelp)
    .addOption(
      new Option(
        '--json',
        'print one JSON event per line on stdout, and nothing else there',
      ).conflicts('quiet'),
    )
    .option('-q, --quiet', 'print only the final summary')
    .option(
      '-w, --workspace <dir>',
      'where runs are kept (.gpipe/runs/…) and commands run (default: the nearest directory upwards holding a .project_root file, else the current directory)',
    )
    .action(
      async (file: string, options: { json?: boolean; quiet?: boolean; workspace?: string }) => {
        const { runCommand } = await import('./commands/run-command.ts');
        setExitCode(await runCommand(file, options, io));
      },
    );

  program
    .command('validate')
    .description('check a pipeline file and report every problem at once; runs nothing')
    .argument('<file>', fileHelp)
    .action(async (file: string) => {
      const { validateCommand } = await import('./commands/validate-command.ts');
      setExitCode(await validateCommand(file, io));
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
