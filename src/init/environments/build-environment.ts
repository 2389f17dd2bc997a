/**
 * Makes one environment in its directory, or finds it made: the marker init writes last (with
 * the spec's hash) says it is complete and what it was made from. A changed spec is made anew;
 * a failed build leaves no marker, so no stage ever runs in it, and its log says why.
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { writeFileAtomicSync } from '../../durable/atomic-file.ts';
import { PipelineError } from '../../errors.ts';
import { environmentMarkerFile } from '../../executors/environment-activation.ts';
import type { EnvironmentSpec } from '../../graph/pipeline.ts';
import type { EnvironmentIdentity, FileDigest } from './environment-hash.ts';
import { withEnvironmentLock } from './environment-lock.ts';
import { environmentRecipes } from './environment-recipes.ts';

/** Where each environment keeps the output of its making. */
export const environmentLogFile = '.gpipe-env.log';
/** How many lines of the log a failure shows. */
const tailLines = 20;

/** A failure to make or find an environment: exit code 5. */
export class EnvironmentError extends PipelineError {
  constructor(code: `ENV_${string}`, message: string) {
    super(code, message);
  }
}

export type EnvironmentAction = 'created' | 'rebuilt' | 'up-to-date';

/** What the marker records. */
export interface EnvironmentMarker {
  name: string;
  kind: EnvironmentSpec['kind'];
  hash: string;
  source: string;
  /** The spec files' digests: an unchanged file (size, mtime) is not read again. */
  files?: FileDigest[];
  createdAt: string;
}

/** The marker of a complete environment in `dir`, if there is one. */
export function readMarker(dir: string): EnvironmentMarker | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, environmentMarkerFile), 'utf8')) as EnvironmentMarker;
  } catch {
    // No marker, or a torn one from another tool: either way not a complete environment.
    return undefined;
  }
}

/** Makes `spec` in its dir unless a complete environment of the same hash is there. */
export async function ensureEnvironment(
  spec: EnvironmentSpec,
  identity: EnvironmentIdentity,
  onWait?: (ownerPid: number) => void,
): Promise<EnvironmentAction> {
  const { hash } = identity;
  const before = readMarker(spec.dir);
  if (before?.hash === hash) return 'up-to-date';
  for (const tool of environmentRecipes[spec.kind].tools(spec)) {
    if (!onPath(tool)) {
      throw new EnvironmentError(
        'ENV_TOOL_MISSING',
        `environment '${spec.name}' (${spec.kind}) needs ${tool}, which is not installed (not found on PATH)`,
      );
    }
  }
  return withEnvironmentLock(
    spec.dir,
    async () => {
      // Another init may have made it while this one waited.
      const current = readMarker(spec.dir);
      if (current?.hash === hash) return 'up-to-date';
      await buildInPlace(spec, identity);
      return current === undefined ? 'created' : 'rebuilt';
    },
    onWait,
  );
}

/** Makes the environment in a fresh dir, its marker last. */
async function buildInPlace(spec: EnvironmentSpec, identity: EnvironmentIdentity): Promise<void> {
  const recipe = environmentRecipes[spec.kind];
  // The marker goes first: an environment half removed must not pass for a complete one.
  rmSync(join(spec.dir, environmentMarkerFile), { force: true });
  rmSync(spec.dir, { recursive: true, force: true });
  mkdirSync(spec.dir, { recursive: true });
  const logFile = join(spec.dir, environmentLogFile);
  const log = openSync(logFile, 'a');
  try {
    await recipe.build(spec, (argv, options) => runLogged(argv, options?.cwd ?? spec.dir, log));
  } catch (error) {
    closeSync(log);
    const why = error instanceof StepFailed ? error.message : (error as Error).message;
    throw new EnvironmentError(
      'ENV_BUILD_FAILED',
      `environment '${spec.name}' (${spec.kind}) could not be made: ${why}; the end of ${logFile}:\n${logTail(logFile)}`,
    );
  }
  closeSync(log);
  const marker: EnvironmentMarker = {
    name: spec.name,
    kind: spec.kind,
    hash: identity.hash,
    source: spec.source,
    files: identity.files,
    createdAt: new Date().toISOString(),
  };
  writeFileAtomicSync(
    join(spec.dir, environmentMarkerFile),
    `${JSON.stringify(marker, null, 2)}\n`,
  );
}

class StepFailed extends Error {}

/** Runs `argv` with stdout and stderr appended to the log; rejects with StepFailed. */
function runLogged(argv: readonly string[], cwd: string, log: number): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  writeSync(log, `$ ${argv.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', log, log] });
    child.once('error', (error) =>
      reject(new StepFailed(`cannot start ${command}: ${error.message}`)),
    );
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new StepFailed(
            `${[basename(command), ...args.slice(0, 3)].join(' ')} failed (${signal ? `signal ${signal}` : `exit ${code}`})`,
          ),
        );
    });
  });
}

function logTail(file: string): string {
  if (!existsSync(file)) return '(no output)';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return lines
    .slice(-tailLines)
    .map((line) => `  ${line}`)
    .join('\n');
}

/** Whether `tool` (a path, or a name looked up on PATH) can be run. */
function onPath(tool: string): boolean {
  const candidates =
    isAbsolute(tool) || tool.includes('/')
      ? [tool]
      : (process.env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, tool));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
