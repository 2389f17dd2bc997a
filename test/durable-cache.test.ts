/**
 * The stage cache end to end through the real `gpipe` (SPEC C3, C6). fixtures/durable/cache.yaml
 * gives each part of the cache key a stage of its own — code (a TypeScript module file),
 * params, command argv, env, version, an upstream's output — plus a stage with `cache: false`,
 * and every stage counts its invocations, so a hit is a stage that did not run.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  countInvocation,
  durableWorkspaces,
  edit,
  expectExit,
  fixtureText,
  gpipeJson,
  InvocationWatch,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

const fixtures = ['cache.yaml', 'stages.ts'];
const allStages = [
  'by_argv',
  'by_code',
  'by_env',
  'by_params',
  'by_version',
  'down',
  'no_cache',
  'up',
];

interface Explanation {
  stage: string;
  verdict: 'cached' | 'run';
  summary: string;
  changes: string[];
}

async function run(cwd: string, ...flags: string[]) {
  const { stdout } = await expectExit(0, ['run', 'cache.yaml', '--json', ...flags], cwd);
  return runFinished(stdout);
}

function explain(cwd: string, stage: string): Promise<Explanation> {
  return gpipeJson<Explanation>(['explain', 'cache.yaml', stage, '--json'], cwd);
}

/** The verdict and changes `explain` gives for each stage, asked all at once (it only reads). */
async function explainEach(cwd: string, stages: string[]): Promise<Record<string, string[]>> {
  const explanations = await Promise.all(stages.map((stage) => explain(cwd, stage)));
  return Object.fromEntries(
    explanations.map((e) => [e.stage, [e.verdict, ...e.changes.map(withoutHashes)]]),
  );
}

/** A change with its hashes and the workspace's path blanked out: what stays the same. */
function withoutHashes(change: string): string {
  return change.replace(/sha256:[0-9a-f]+…?/g, 'sha256:…').replace(/ \(cwd [^)]*\)/g, '');
}

/** The stages with each status, from a run's `run_finished` event. */
function byStatus(stages: Record<string, string>): Record<string, string[]> {
  const grouped: Record<string, string[]> = {};
  for (const [stage, status] of Object.entries(stages)) {
    grouped[status] = [...(grouped[status] ?? []), stage];
  }
  for (const list of Object.values(grouped)) list.sort();
  return grouped;
}

describe('the cache key: a change to any part misses, the same parts hit', () => {
  test('code, params, argv, env, version and upstream outputs, one stage each', async () => {
    const cwd = spaces.make(fixtures);
    const invoked = new InvocationWatch(cwd);

    const first = await run(cwd);
    assert.deepEqual(invoked.since(), allStages);
    const second = await run(cwd);
    assert.deepEqual(invoked.since(), ['no_cache'], 'an identical run reuses every output');
    assert.deepEqual(byStatus(second.stages), {
      cached: allStages.filter((s) => s !== 'no_cache'),
      succeeded: ['no_cache'],
    });
    const text = await expectExit(0, ['explain', 'cache.yaml', 'by_params'], cwd);
    assert.equal(
      text.stdout,
      `by_params would hit the cache: it would reuse the output of run ${first.runId}\n`,
    );

    // One change per stage. up's NOTE changes its key but not its output.
    const yaml = 'cache.yaml';
    edit(cwd, 'stages.ts', 'const answer = 42;', 'const answer = 43;');
    edit(cwd, yaml, 'params: { n: 1 }', 'params: { n: 2 }');
    edit(cwd, yaml, 'argv-one]', 'argv-two]');
    edit(cwd, yaml, 'MODE: fast', 'MODE: slow');
    edit(cwd, yaml, 'version: "1"', 'version: "2"');
    edit(cwd, yaml, 'NOTE: a', 'NOTE: b');
    const argv = (word: string) =>
      `["sh","-c","echo x >> \\"invocations/$OPERATOR_ID\\"","argv-${word}"]`;
    const changedStages = ['by_code', 'by_params', 'by_argv', 'by_env', 'by_version', 'up'];
    assert.deepEqual(await explainEach(cwd, changedStages), {
      by_code: ['run', 'code changed (file stages.ts#compute sha256:… → sha256:…)'],
      by_params: ['run', 'params changed: {"n":1} → {"n":2}'],
      by_argv: ['run', `command changed: ${argv('one')} → ${argv('two')}`],
      by_env: ['run', 'env changed: MODE=fast → MODE=slow'],
      by_version: ['run', 'version changed: 1 → 2'],
      up: ['run', 'env changed: NOTE=a VALUE=1 → NOTE=b VALUE=1'],
    });
    // The dry run says the same in a few words per row.
    const plan = await gpipeJson<{ rows: { stage: string; detail: string }[] }>(
      ['run', 'cache.yaml', '--dry-run', '--json'],
      cwd,
    );
    const since = `changed since run ${first.runId}`;
    assert.deepEqual(Object.fromEntries(plan.rows.map((row) => [row.stage, row.detail])), {
      up: `runs: env ${since}`,
      down: "runs after 'up'",
      by_code: `runs: code ${since}`,
      by_params: `runs: params ${since}`,
      by_argv: `runs: command ${since}`,
      by_env: `runs: env ${since}`,
      by_version: `runs: version ${since}`,
      no_cache: 'runs: its cache is off (cache: false)',
    });
    const changed = await run(cwd);
    assert.deepEqual(invoked.since(), [
      'by_argv',
      'by_code',
      'by_env',
      'by_params',
      'by_version',
      'no_cache',
      'up',
    ]);
    assert.deepEqual(byStatus(changed.stages), {
      succeeded: ['by_argv', 'by_code', 'by_env', 'by_params', 'by_version', 'no_cache', 'up'],
      cached: ['down'],
    });

    // up's output changes: a run of up alone, then down names the upstream and misses.
    edit(cwd, yaml, 'VALUE: "1"', 'VALUE: "2"');
    await run(cwd, '--stage', 'up');
    assert.deepEqual(invoked.since(), ['up']);
    const down = await explain(cwd, 'down');
    assert.equal(down.verdict, 'run');
    assert.deepEqual(down.changes.map(withoutHashes), [
      "upstream 'up' output changed (sha256:… → sha256:…)",
    ]);
    const upstreamChanged = await run(cwd);
    assert.deepEqual(invoked.since(), ['down', 'no_cache']);
    assert.equal(upstreamChanged.stages.up, 'cached');

    // Every part back as it was: every stage hits the entry of the first run.
    edit(cwd, 'stages.ts', 'const answer = 43;', 'const answer = 42;');
    edit(cwd, yaml, 'params: { n: 2 }', 'params: { n: 1 }');
    edit(cwd, yaml, 'argv-two]', 'argv-one]');
    edit(cwd, yaml, 'MODE: slow', 'MODE: fast');
    edit(cwd, yaml, 'version: "2"', 'version: "1"');
    edit(cwd, yaml, 'NOTE: b', 'NOTE: a');
    edit(cwd, yaml, 'VALUE: "2"', 'VALUE: "1"');
    const reverted = await run(cwd);
    assert.deepEqual(invoked.since(), ['no_cache']);
    assert.deepEqual(byStatus(reverted.stages), {
      cached: allStages.filter((s) => s !== 'no_cache'),
      succeeded: ['no_cache'],
    });

    // explain compares with the key of the stage's last success ({n: 1}), not with the newest
    // cache entry ({n: 2}).
    edit(cwd, yaml, 'params: { n: 1 }', 'params: { n: 3 }');
    const params = await explain(cwd, 'by_params');
    assert.deepEqual(params.changes, ['params changed: {"n":1} → {"n":3}']);
    assert.match(params.summary, new RegExp(`since its last success \\(run ${reverted.runId}\\)`));
  });
});

describe('turning the cache off and emptying it', () => {
  test('--no-cache, cache: false, cache clear and cache gc each make stages run', async () => {
    const cwd = spaces.make(fixtures);
    const invoked = new InvocationWatch(cwd);
    await run(cwd);
    assert.deepEqual(invoked.since(), allStages);

    await run(cwd, '--no-cache');
    assert.deepEqual(invoked.since(), allStages, '--no-cache runs every stage');
    const noCache = await explain(cwd, 'no_cache');
    assert.deepEqual(noCache, {
      stage: 'no_cache',
      verdict: 'run',
      summary: 'its cache is off (cache: false): it always runs',
      changes: [],
    });

    const otherPipeline = await expectExit(0, ['cache', 'clear', '--pipeline', 'other'], cwd);
    assert.equal(otherPipeline.stdout, 'removed 0 cache entries\n');
    const cleared = await expectExit(0, ['cache', 'clear', '--pipeline', 'cache_parts'], cwd);
    // The first run stored one entry per cached stage; --no-cache stored the same keys again.
    assert.equal(cleared.stdout, 'removed 7 cache entries\n');
    const afterClear = await explain(cwd, 'by_params');
    assert.equal(afterClear.verdict, 'run');
    assert.match(afterClear.summary, /^nothing is cached for it: the output of its last success/);
    const dryRun = await expectExit(0, ['run', 'cache.yaml', '--dry-run'], cwd);
    assert.match(
      dryRun.stdout,
      /^ {2}by_params +run +runs: the output of its last success \(run \w+\) is not cached$/m,
    );
    await run(cwd);
    assert.deepEqual(invoked.since(), allStages, 'after cache clear every stage runs');

    const kept = await expectExit(0, ['cache', 'gc', '--keep-days', '1'], cwd);
    assert.equal(kept.stdout, 'removed 0 cache entries not used in 1 day\n');
    // The run after the clear stored its outputs again: 7 entries to collect.
    const collected = await expectExit(0, ['cache', 'gc', '--keep-days', '0'], cwd);
    assert.equal(collected.stdout, 'removed 7 cache entries not used in 0 days\n');
    await run(cwd);
    assert.deepEqual(invoked.since(), allStages, 'after cache gc every stage runs');
  });
});

describe('the code part: the files a stage runs', () => {
  test("an edit to a command's script, a config file it names, or a module a stage imports reruns it; data does not", async () => {
    const cwd = spaces.make([], {
      'code.yaml': yamlPipeline('code_files', [
        '- name: by_script',
        '  command: [sh, count.sh, --config=settings.yaml, data.csv]',
        '- name: by_import',
        '  script: "entry.ts:compute"',
        '- name: by_python',
        `  command: [sh, -c, 'python3 main.py']`,
      ]),
      'count.sh': `${countInvocation} # a\n`,
      'settings.yaml': 'lr: 0.1\n',
      'data.csv': 'a,b\n',
      'entry.ts': [
        "import { appendFileSync } from 'node:fs';",
        "import { answer } from './lib/helper.js';",
        'export function compute(context: { moduleName: string }) {',
        "  appendFileSync('invocations/' + context.moduleName, 'x\\n');",
        '  return { answer };',
        '}',
      ].join('\n'),
      'lib/helper.ts': 'export const answer = 42;\n',
      'main.py': `from helpers import VALUE\nimport os\nopen(f"invocations/{os.environ['OPERATOR_ID']}", "a").write("x\\n")\n`,
      'helpers.py': 'VALUE = 1\n',
    });
    const invoked = new InvocationWatch(cwd);
    const runCode = async () => {
      const { stdout } = await expectExit(0, ['run', 'code.yaml', '--json'], cwd);
      return runFinished(stdout);
    };
    const explainCode = async (stage: string) => {
      const e = await gpipeJson<Explanation>(['explain', 'code.yaml', stage, '--json'], cwd);
      return [e.verdict, ...e.changes.map(withoutHashes)];
    };
    await runCode();
    assert.deepEqual(invoked.since(), ['by_import', 'by_python', 'by_script']);
    edit(cwd, 'data.csv', 'a,b', 'a,b,c');
    await runCode();
    assert.deepEqual(invoked.since(), [], 'a data file is not code: every stage hits');

    edit(cwd, 'count.sh', '# a', '# b');
    edit(cwd, 'lib/helper.ts', '42', '43');
    edit(cwd, 'helpers.py', '1', '2');
    assert.deepEqual(await explainCode('by_script'), [
      'run',
      'code changed (count.sh sha256:… → sha256:…)',
    ]);
    assert.deepEqual(await explainCode('by_import'), [
      'run',
      'code changed (lib/helper.ts sha256:… → sha256:…)',
    ]);
    assert.deepEqual(await explainCode('by_python'), [
      'run',
      'code changed (helpers.py sha256:… → sha256:…)',
    ]);
    await runCode();
    assert.deepEqual(invoked.since(), ['by_import', 'by_python', 'by_script']);

    edit(cwd, 'settings.yaml', '0.1', '0.2');
    assert.deepEqual(await explainCode('by_script'), [
      'run',
      'code changed (settings.yaml sha256:… → sha256:…)',
    ]);
    await runCode();
    assert.deepEqual(invoked.since(), ['by_script']);
  });
});

describe('explain when an upstream stage would run first', () => {
  test("says the stage waits for it, rather than a hit on the upstream's last output", async () => {
    const cwd = spaces.make([], {
      'chain.yaml': yamlPipeline('chain', [
        '- name: up',
        `  command: [sh, -c, 'echo "{\\"n\\": $N}" > "$GP_RESULT_FILE"']`,
        '  env: { N: "1" }',
        '- name: down',
        `  command: [sh, -c, 'cat "$GP_INPUTS_FILE" > "$GP_RESULT_FILE"']`,
        '  depends_on: [up]',
      ]),
    });
    await expectExit(0, ['run', 'chain.yaml'], cwd);
    const explainDown = () =>
      gpipeJson<Explanation>(['explain', 'chain.yaml', 'down', '--json'], cwd);
    assert.equal((await explainDown()).verdict, 'cached');
    edit(cwd, 'chain.yaml', 'N: "1"', 'N: "2"');
    const down = await explainDown();
    assert.equal(down.verdict, 'run');
    assert.match(
      down.summary,
      /^its upstream 'up' would run first \(runs: env changed since run \w+; explain 'up' says why\)/,
    );
    assert.deepEqual(down.changes, []);
    const item = await expectExit(2, ['explain', 'chain.yaml', 'down[0]'], cwd);
    assert.equal(item.stderr, "gpipe: no stage 'down[0]' in pipeline 'chain'\n");

    // Its own command changed too: it runs whatever 'up' gives, and that is said first.
    edit(cwd, 'chain.yaml', 'cat "$GP_INPUTS_FILE"', 'cat  "$GP_INPUTS_FILE"');
    const changed = await explainDown();
    assert.equal(changed.verdict, 'run');
    assert.match(
      changed.summary,
      /^its cache key changed since its last success \(run \w+\), whatever its upstream gives; and its upstream 'up' would run first/,
    );
    assert.equal(changed.changes.length, 1);
    assert.match(changed.changes[0]!, /^command changed/);
  });
});

describe('a command that rewrites a file it names', () => {
  test('is keyed by the file as it left it: an unchanged rerun hits, an edit of its script runs it', async () => {
    const cwd = spaces.make([], {
      'outs.yaml': yamlPipeline('outs', [
        '- name: evaluate',
        '  command: [python3, evaluate.py, --out, metrics.yaml]',
      ]),
      'evaluate.py': [
        'import os, sys, time',
        'open(f"invocations/{os.environ[\'OPERATOR_ID\']}", "a").write("x\\n")',
        'open(sys.argv[2], "w").write(f"accuracy: 0.9\\nat: {time.time()}\\n")',
      ].join('\n'),
    });
    const invoked = new InvocationWatch(cwd);
    const runOuts = () => expectExit(0, ['run', 'outs.yaml', '--json'], cwd);
    await runOuts();
    assert.deepEqual(invoked.since(), ['evaluate']);
    const again = runFinished((await runOuts()).stdout);
    assert.deepEqual(invoked.since(), [], 'the file it wrote is not a change of its code');
    assert.equal(again.stages.evaluate, 'cached');
    edit(cwd, 'evaluate.py', 'accuracy: 0.9', 'accuracy: 0.8');
    const explained = await gpipeJson<Explanation>(
      ['explain', 'outs.yaml', 'evaluate', '--json'],
      cwd,
    );
    assert.deepEqual(explained.changes.map(withoutHashes), [
      'code changed (evaluate.py sha256:… → sha256:…)',
    ]);
    await runOuts();
    assert.deepEqual(invoked.since(), ['evaluate']);
  });
});

describe('a moved or renamed project', () => {
  const stages = ['compute', 'down', 'hello', 'nested'];
  // The project is a folder of the workspace, so that it can be renamed and still be removed.
  const parent = spaces.make([], {
    'proj/moved.yaml': yamlPipeline('moved', [
      '- name: hello',
      '  command: [python3, hello.py]',
      '- name: nested',
      '  command: [sh, run.sh]',
      '  cwd: sub',
      '- name: compute',
      '  script: "stages.ts:compute"',
      '- name: down',
      '  command:',
      '    [sh, -c, \'echo x >> "invocations/$OPERATOR_ID"; cat "$GP_INPUTS_FILE" > "$GP_RESULT_FILE"\']',
      '  depends_on: [hello]',
    ]),
    'proj/hello.py': [
      'import os',
      'open(f"invocations/{os.environ[\'OPERATOR_ID\']}", "a").write("x\\n")',
      'open(os.environ["GP_RESULT_FILE"], "w").write(\'{"greeting": "hi"}\')',
      'print("hi")',
    ].join('\n'),
    'proj/sub/run.sh': 'echo x >> "../invocations/$OPERATOR_ID"\n',
    'proj/stages.ts': fixtureText('stages.ts'),
    'proj/invocations/.keep': '',
  });
  const before = join(parent, 'proj');
  const moved = join(parent, 'proj2');

  const runIn = async (cwd: string) =>
    runFinished((await expectExit(0, ['run', 'moved.yaml', '--json'], cwd)).stdout);

  test('keeps its cache keys: explain names no change', async () => {
    const invoked = new InvocationWatch(before);
    await runIn(before);
    assert.deepEqual(invoked.since(), stages);
    renameSync(before, moved);
    for (const stage of stages) {
      const explained = await gpipeJson<Explanation>(
        ['explain', 'moved.yaml', stage, '--json'],
        moved,
      );
      assert.deepEqual([explained.verdict, ...explained.changes], ['cached'], stage);
    }
  });

  test('reuses every output there', async () => {
    const invoked = new InvocationWatch(moved);
    const again = await runIn(moved);
    assert.deepEqual(byStatus(again.stages), { cached: stages });
    assert.deepEqual(invoked.since(), [], 'nothing ran again');
  });
});
