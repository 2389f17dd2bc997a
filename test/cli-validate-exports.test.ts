// `gpipe validate` reads module stages' files for the functions and classes they name.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gpipe, repoRoot, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspace = workspaces();

const files = {
  'stages.ts':
    'export function load() { return [1]; }\nexport class Report { run() { return 1; } }\n',
  'score.py': 'def score(context):\n    return 1\n',
};

/** load, report (after load) and score, naming these exports; `scoreKeys` go on score. */
function exportsPipeline(
  names: { load: string; report: string; score: string },
  scoreKeys: string[] = [],
): string {
  return yamlPipeline('exports', [
    '- name: load',
    `  script: "stages.ts:${names.load}"`,
    '- name: report',
    `  path: "stages.ts:${names.report}"`,
    '  depends_on: [load]',
    '- name: score',
    `  script: "score.py:${names.score}"`,
    ...scoreKeys,
  ]);
}

describe('gpipe validate: module exports', () => {
  test('each misspelt export at its line and column, with the other problems; exit 1', async () => {
    const cwd = workspace({
      ...files,
      'pipeline.yaml': exportsPipeline({ load: 'lod', report: 'Reprt', score: 'scor' }, [
        '  dependson: [load]',
      ]),
    });
    const { code, stdout, stderr } = await gpipe(['validate', 'pipeline.yaml'], cwd);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.deepEqual(stderr.trimEnd().split('\n'), [
      `pipeline.yaml:5:15: module 'load': ${cwd}/stages.ts exports no 'lod' (hint: did you mean 'load'?)`,
      `pipeline.yaml:7:13: module 'report': ${cwd}/stages.ts exports no 'Reprt' (hint: did you mean 'Report'?)`,
      `pipeline.yaml:10:15: module 'score': ${cwd}/score.py defines no 'scor' (hint: did you mean 'score'?)`,
      "pipeline.yaml:11:7: module 'score': unknown key 'dependson' (hint: did you mean 'depends_on'?)",
      'gpipe: 4 problems in pipeline.yaml',
    ]);
  });

  test('names that are there: valid', async () => {
    const cwd = workspace({
      ...files,
      'pipeline.yaml': exportsPipeline({ load: 'load', report: 'Report', score: 'score' }),
    });
    const { code, stdout } = await gpipe(['validate', 'pipeline.yaml'], cwd);
    assert.equal(code, 0);
    assert.equal(stdout, "✓ pipeline.yaml: pipeline 'exports' is valid: 3 stages in 2 waves\n");
  });

  test('a TypeScript pipeline: a worker stage naming a missing export', async () => {
    const api = JSON.stringify(`${repoRoot}src/index.ts`);
    const cwd = workspace({
      'work.ts': 'export async function crunch(inputs: unknown) { return inputs; }\n',
      'pipeline.ts': [
        `import { pipeline, stage } from ${api};`,
        "const rows = stage('rows', async () => [1, 2]);",
        "const heavy = stage('heavy', { deps: { rows }, module: new URL('./work.ts', import.meta.url), export: 'crnch', worker: 'thread' });",
        "export default pipeline('api', [heavy]);",
        '',
      ].join('\n'),
    });
    const { code, stderr } = await gpipe(['validate', 'pipeline.ts'], cwd);
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `pipeline.ts: module 'heavy': ${cwd}/work.ts exports no 'crnch' (hint: did you mean 'crunch'?)\ngpipe: 1 problem in pipeline.ts\n`,
    );
  });
});
