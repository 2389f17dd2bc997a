/**
 * Case B, peers, in one child process: GNU make or ninja, `-j2`, on the DAG with `true` recipes.
 *
 * Timed: the tool's whole execution, its startup and parsing included, from spawn to exit (under
 * `/usr/bin/time -o FILE -f %M` when it exists, which gives the tool's peak RSS and adds one
 * fork+exec). Not timed: writing the files.
 *
 * `--verify` first runs a copy whose recipes print their stage's name (untimed, in another
 * directory) and checks that every stage ran exactly once.
 *
 *   node --import tsx bench/peers/build-tool.ts --tool ninja --shape layered-10k [--verify]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitResult, parseCaseArgs, requireArg } from '../case-io.ts';
import { buildDag, type Dag } from '../dags.ts';
import { makefileOf, ninjaFileOf } from './build-files.ts';

const timeBinary = '/usr/bin/time';
const jobs = '2';

interface Tool {
  file: string;
  write(dag: Dag, recipe?: string): string;
  argv(dir: string): string[];
  nameRecipe: string;
}

const tools: Record<string, Tool> = {
  make: {
    file: 'Makefile',
    write: makefileOf,
    argv: (dir) => ['make', `-j${jobs}`, '-r', '-R', '-C', dir, '-f', 'Makefile', 'all'],
    nameRecipe: 'echo $@',
  },
  ninja: {
    file: 'build.ninja',
    write: ninjaFileOf,
    argv: (dir) => ['ninja', `-j${jobs}`, '-C', dir],
    nameRecipe: 'echo $out',
  },
};

function prepare(tool: Tool, dag: Dag, recipe?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-peer-'));
  writeFileSync(join(dir, tool.file), tool.write(dag, recipe));
  return dir;
}

/** Every stage's name printed exactly once, and nothing else that looks like one. */
function verify(tool: Tool, dag: Dag): { ok: boolean; note?: string } {
  const dir = prepare(tool, dag, tool.nameRecipe);
  try {
    const run = spawnSync(tool.argv(dir)[0]!, tool.argv(dir).slice(1), {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    if (run.status !== 0)
      return { ok: false, note: `verify run exited ${run.status}: ${run.stderr.slice(0, 200)}` };
    const counts = new Map<string, number>();
    for (const line of run.stdout.split('\n')) {
      if (/^s\d+$/.test(line)) counts.set(line, (counts.get(line) ?? 0) + 1);
    }
    const once = dag.names.every((name) => counts.get(name) === 1);
    const ok = once && counts.size === dag.names.length;
    return ok ? { ok } : { ok, note: `ran ${counts.size} distinct of ${dag.names.length} stages` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = parseCaseArgs();
const toolName = requireArg(args, 'tool');
const tool = tools[toolName];
if (!tool)
  throw new Error(`unknown --tool '${toolName}' (known: ${Object.keys(tools).join(', ')})`);
const dag = buildDag(requireArg(args, 'shape'));
const checked = args.has('verify')
  ? verify(tool, dag)
  : { ok: true, note: 'count verified on the first run only' };

const dir = prepare(tool, dag);
try {
  const rssFile = join(dir, 'rss.txt');
  const timed = existsSync(timeBinary);
  const argv = timed ? [timeBinary, '-o', rssFile, '-f', '%M', ...tool.argv(dir)] : tool.argv(dir);
  const t0 = performance.now();
  const run = spawnSync(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wallMs = performance.now() - t0;
  if (run.error) throw run.error;
  const maxRssKb = timed ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : -1;
  const failed =
    run.status !== 0 ? `${toolName} exited ${run.status}: ${run.stderr.slice(0, 200)}` : undefined;
  emitResult({
    stages: dag.names.length,
    wallMs,
    maxRssKb,
    verified: checked.ok && failed === undefined,
    ...((failed ?? checked.note) !== undefined && { note: failed ?? checked.note }),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
