/**
 * Python stages end to end with the real python3: YAML `path: pkg.module:Class` and
 * `script: file.py:function` modules, the TypeScript API's python(), the bridge's context
 * (results, params, execute_tasks), exceptions, timeouts and interpreters.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipeline } from '../src/api/pipeline.ts';
import { python, stage } from '../src/api/stage.ts';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import type { PipelineSpec } from '../src/graph/pipeline.ts';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { runPipeline } from '../src/scheduler/engine.ts';
import { isAlive, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

/** A temp dir holding `files` plus `pipeline.yaml` made of `modules` under a small header. */
function pipelineDir(
  modules: readonly string[],
  files: Record<string, string>,
  header: readonly string[] = [],
): string {
  const yaml = ['pipeline:', '  name: py', ...header, '  modules:', ...modules].join('\n');
  const dir = workspace({ ...files, 'pipeline.yaml': `${yaml}\n` });
  return dir;
}

async function runIn(dir: string, spec?: PipelineSpec) {
  const pipeline = spec ?? (await loadPipeline(join(dir, 'pipeline.yaml')));
  const executors = createExecutors(pipeline);
  try {
    return await runPipeline(pipeline, { executors, workspaceRoot: dir, runId: 'r1' });
  } finally {
    await executors.command.close?.();
  }
}

function stageLog(dir: string, stageName: string): string {
  // The text of each line, stamps taken off (src/logs/stage-log-line.ts).
  return readFileSync(join(dir, '.gpipe', 'runs', 'r1', stageName, 'stage.log'), 'utf8')
    .split('\n')
    .map((line) => parseLogLine(line).text)
    .join('\n');
}

const lines = (...text: string[]) => `${text.join('\n')}\n`;

test('TypeScript → Python class → Python function → TypeScript, with params, prints and artifacts', async () => {
  const dir = pipelineDir(
    [
      '    - { name: numbers, script: "stages.ts:numbers" }',
      '    - name: squares',
      '      path: "mymods.squares:Squares"',
      '      depends_on: [numbers]',
      '      resources: { cpus: 2 }',
      '    - name: total',
      '      script: "scripts/total.py:total"',
      '      depends_on: [squares]',
      '      params: { scale: 10 }',
      '    - { name: report, script: "stages.ts:report", depends_on: [total, squares] }',
    ],
    {
      'stages.ts': lines(
        'export const numbers = () => [1, 2, 3];',
        'export const report = (c: { getResult(n: string): unknown }) =>',
        "  ({ total: c.getResult('total'), squares: c.getResult('squares') });",
      ),
      'mymods/__init__.py': '',
      'mymods/squares.py': lines(
        'import os, sys',
        'from pipeline_orchestrator import BaseModule',
        'from mymods.helper import square',
        'class Squares(BaseModule):',
        '    def run(self, context):',
        '        print("{\\"not\\": \\"the result\\"}")',
        '        os.write(1, b"raw bytes on fd 1\\n")',
        '        print("to stderr", file=sys.stderr)',
        '        with open(os.path.join(context.output_root, "note.txt"), "w") as f:',
        '            f.write("hi")',
        '        numbers = context.get_result("numbers")',
        '        sys.stdout.close()  # a module may break its own stdout: the result is apart',
        '        return {"squares": [square(n) for n in numbers], "me": context.module_name,',
        '                "pipeline": context.pipeline_name, "cpus": context.resources.cpus,',
        '                "deps": sorted(context.get_all_results()), "ref": context.file_ref("note.txt")}',
      ),
      'mymods/helper.py': lines('def square(n):', '    return n * n'),
      'scripts/total.py': lines(
        'def total(context):',
        '    context.log.info("summing")',
        '    return sum(context.dependency_results["squares"]["squares"]) * context.params["scale"]',
      ),
    },
  );
  const result = await runIn(dir);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages, null, 1));
  const squares = result.stages.squares!.output as Record<string, unknown>;
  assert.deepStrictEqual(squares.squares, [1, 4, 9]);
  assert.equal(squares.me, 'squares');
  assert.equal(squares.pipeline, 'py');
  assert.equal(squares.cpus, 2);
  assert.deepStrictEqual(squares.deps, ['numbers']);
  assert.deepStrictEqual(squares.ref, {
    $fileRef: 1,
    path: join(dir, '.gpipe', 'runs', 'r1', 'squares', 'artifacts', 'note.txt'),
    size: 2,
    sha256: 'sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4',
  });
  assert.equal(result.stages.total!.output, 140);
  assert.deepStrictEqual(result.stages.report!.output, { total: 140, squares });
  const log = stageLog(dir, 'squares');
  for (const printed of ['{"not": "the result"}', 'raw bytes on fd 1', 'to stderr']) {
    assert.ok(log.includes(printed), log);
  }
  assert.match(stageLog(dir, 'total'), /INFO summing/);
});

test('an exception fails the stage with its Python type; the traceback is in stage.log', async () => {
  const dir = pipelineDir(
    [
      '    - { name: boom, script: "jobs.py:boom" }',
      '    - name: final',
      '      script: "jobs.py:final"',
      '      retry: { max_attempts: 3, delay: 0 }',
      '    - { name: bad_result, script: "jobs.py:a_set" }',
      '    - { name: no_class, path: "jobs.py:Missing" }',
    ],
    {
      'jobs.py': lines(
        'from general_pipeline import NonRetryableError',
        'class QuotaExceeded(Exception):',
        '    pass',
        'def boom(context):',
        '    raise QuotaExceeded("over by 3")',
        'def final(context):',
        '    raise NonRetryableError("give up")',
        'def a_set(context):',
        '    return {"ids": {1, 2}}',
      ),
    },
    ['  execution: { failure_policy: collect_all }'],
  );
  const result = await runIn(dir);
  assert.equal(result.status, 'failed');
  const boom = result.stages.boom!;
  assert.equal(boom.status, 'failed');
  assert.equal(boom.error?.name, 'QuotaExceeded');
  assert.equal(boom.error?.code, 'PYTHON_EXCEPTION');
  assert.equal(boom.error?.message, 'jobs.QuotaExceeded: over by 3 (traceback in stage.log)');
  assert.equal(boom.exitCode, 1);
  const log = stageLog(dir, 'boom');
  assert.match(log, /Traceback \(most recent call last\):/);
  assert.match(log, /jobs\.py", line 5, in boom\n {4}raise QuotaExceeded\("over by 3"\)/);
  assert.match(log, /jobs\.QuotaExceeded: over by 3/);
  assert.ok(!log.includes('gpipe_bridge.py'), `the bridge's own frames are left out:\n${log}`);

  assert.equal(result.stages.final!.error?.code, 'NON_RETRYABLE');
  assert.equal(result.stages.final!.attempts, 1);
  assert.equal(result.stages.bad_result!.error?.code, 'BAD_RESULT');
  assert.match(
    result.stages.bad_result!.error!.message,
    /is not JSON: .*set is not JSON serializable/,
  );
  assert.match(result.stages.no_class!.error!.message, /has no class 'Missing'/);
});

test('execute_tasks: results in order, errors in place, at most the CPU grant at once, depth limited', async () => {
  const dir = pipelineDir(
    [
      '    - { name: fan, script: "fan.py:fan", resources: { cpus: 2 } }',
      '    - { name: deep, script: "fan.py:deep" }',
      '    - { name: badtask, script: "fan.py:bad_task" }',
    ],
    {
      'fan.py': lines(
        'import threading, time',
        'lock = threading.Lock()',
        'running = [0, 0]  # now, most',
        'pair = threading.Barrier(2, timeout=20)',
        'def work(n, wait=False):',
        '    with lock:',
        '        running[0] += 1',
        '        running[1] = max(running[1], running[0])',
        '    if wait:',
        '        pair.wait()  # two tasks at once, or this times out',
        '    time.sleep(0.01)',
        '    with lock:',
        '        running[0] -= 1',
        '    if n == 3:',
        '        raise ValueError("no threes")',
        '    return n * 10',
        'def fan(context):',
        '    tasks = [(work, (0, True)), (work, (1, True))] + [(work, (n,)) for n in range(2, 8)]',
        '    tasks.append(lambda: "plain")',
        '    results = context.execute_tasks(tasks)',
        '    return {"results": results, "most": running[1],',
        '            "error_is_exception": isinstance(results[3], ValueError)}',
        'def deep(context):',
        '    def inner():',
        '        return context.execute_tasks([lambda: "depth 2"])',
        '    return context.execute_tasks([inner, lambda: "depth 1"])',
        'def bad_task(context):',
        '    return context.execute_tasks([42])',
      ),
    },
    ['  execution: { max_nested_depth: 1, failure_policy: collect_all }'],
  );
  const result = await runIn(dir);
  const fan = result.stages.fan!.output as Record<string, unknown>;
  assert.deepStrictEqual(fan.results, [
    0,
    10,
    20,
    { error: 'ValueError', message: 'no threes' },
    40,
    50,
    60,
    70,
    'plain',
  ]);
  assert.equal(fan.most, 2);
  assert.equal(fan.error_is_exception, true);
  assert.deepStrictEqual(result.stages.deep!.output, [
    {
      error: 'NestedDepthError',
      message: "execute_tasks nested 2 deep, but the pipeline's max_nested_depth is 1",
    },
    'depth 1',
  ]);
  assert.equal(result.stages.badtask!.error?.name, 'TypeError');
  assert.match(result.stages.badtask!.error!.message, /task 0 is int; expected a callable/);
});

test('a timeout ends the Python process and everything it started', async () => {
  // Long enough for a loaded machine to start python and write the pid file first.
  const dir = pipelineDir(['    - { name: slow, script: "slow.py:slow", timeout: 3s }'], {
    'slow.py': lines(
      'import os, subprocess, time',
      'def slow(context):',
      '    child = subprocess.Popen(["sleep", "300"])',
      '    with open(os.path.join(context.workspace_root, "child.pid"), "w") as f:',
      '        f.write(f"{child.pid} {os.getpid()}")',
      '    time.sleep(300)',
    ),
  });
  const result = await runIn(dir);
  assert.equal(result.stages.slow!.status, 'failed');
  assert.equal(result.stages.slow!.error?.code, 'TIMEOUT');
  const [child, bridge] = readFileSync(join(dir, 'child.pid'), 'utf8').split(' ').map(Number);
  assert.ok(child! > 0 && bridge! > 0);
  assert.equal(isAlive(bridge!), false, 'the Python process was killed');
  assert.equal(isAlive(child!), false, 'the grandchild was killed with its group');
});

test('python: a venv by its directory or bin/python, with packages installed in it', async () => {
  const dir = pipelineDir(
    [
      '    - { name: by_dir, script: "where.py:prefix", python: venv }',
      '    - { name: by_binary, script: "where.py:prefix", python: ./venv/bin/python }',
      '    - { name: default, script: "where.py:prefix" }',
      '    - { name: installed, path: "instpkg.tool:Tool", python: venv }',
    ],
    { 'where.py': lines('import sys', 'def prefix(context):', '    return sys.prefix') },
  );
  const venv = join(dir, 'venv');
  execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
  const sitePackages = execFileSync(
    join(venv, 'bin', 'python'),
    ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"], end="")'],
    { encoding: 'utf8' },
  );
  const imported = join(dir, 'imported');
  mkdirSync(join(sitePackages, 'instpkg'), { recursive: true });
  writeFileSync(
    join(sitePackages, 'instpkg', '__init__.py'),
    `open(${JSON.stringify(imported)}, "w").close()\n`,
  );
  writeFileSync(
    join(sitePackages, 'instpkg', 'tool.py'),
    lines('class Tool:', '    def run(self, context):', '        return "installed tool"'),
  );
  const spec = await loadPipeline(join(dir, 'pipeline.yaml'));
  const installed = spec.stages.find((s) => s.name === 'installed')!.task;
  assert.equal(
    installed.kind === 'python' && installed.file,
    join(sitePackages, 'instpkg', 'tool.py'),
  );
  assert.equal(existsSync(imported), false, 'finding the package ran none of its code');
  const result = await runIn(dir, spec);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
  assert.equal(result.stages.by_dir!.output, venv);
  assert.equal(result.stages.by_binary!.output, venv);
  assert.notEqual(result.stages.default!.output, venv);
  assert.equal(result.stages.installed!.output, 'installed tool');
  assert.equal(existsSync(imported), true);
});

test('the TypeScript API: python() stages take typed inputs and feed TypeScript stages', async () => {
  const dir = workspace({
    'calc/__init__.py': '',
    'calc/ops.py': lines(
      'class Double:',
      '    def run(self, context):',
      '        return [2 * n for n in context.get_result("base")]',
      'def add(context):',
      '    return sum(context.get_result("doubled")) + context.params["extra"]',
    ),
  });
  const base = stage('base', () => [1, 2, 3]);
  const doubled = python<number[], { base: typeof base }>('doubled', {
    deps: { base },
    path: 'calc.ops:Double',
    dir,
  });
  const added = python<number>('added', {
    after: [doubled],
    script: 'calc/ops.py:add',
    params: { extra: 100 },
    dir,
  });
  const last = stage('last', { deps: { added } }, ({ added }) => added + 1);
  const result = await runIn(dir, pipeline('api', [last]).spec);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
  assert.deepStrictEqual(result.stages.doubled!.output, [2, 4, 6]);
  assert.equal(result.stages.last!.output, 113);
  assert.throws(
    () => python('x', { path: 'calc.nothing:Double', dir }),
    /python stage 'x': Python module 'calc.nothing' not found/,
  );
  assert.throws(() => python('y', { dir }), /give exactly one of path .* or script/);
});

test('examples/python-modules runs as written', async () => {
  const dir = workspace({});
  const file = join(import.meta.dirname, '..', 'examples', 'python-modules', 'pipeline.yaml');
  const result = await runIn(dir, await loadPipeline(file));
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
  assert.deepStrictEqual(result.stages.summary!.output, { total: 155, failures: 1 });
  assert.equal(result.stages.report!.output, 'total 155, 1 failed');
  assert.match(stageLog(dir, 'processor'), /scored 7 items, 1 failed/);
});
