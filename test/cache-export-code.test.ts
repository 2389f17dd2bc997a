/**
 * The code part of a module stage's cache key is the code its export is made of, not its whole
 * file: two stages exported by one TypeScript file, and two by one Python file, through the
 * real `gpipe`. Editing one stage's function reruns that stage alone; a helper reruns the
 * stages that use it; code every function may depend on (imports, constants) reruns them all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  durableWorkspaces,
  edit,
  expectExit,
  gpipeJson,
  InvocationWatch,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

const stagesTs = `import { appendFileSync } from 'node:fs';
import { scale } from './lib/scale.ts';

function counted(name: string) {
  appendFileSync('invocations/' + name, 'x\\n');
}

// Used by train alone.
function round(x: number) {
  return Math.round(x);
}

export function train() {
  counted('train');
  return { weight: round(scale(2.4)) };
}

export function evaluate() {
  counted('evaluate');
  return { score: 0.5 };
}
`;

const stagesPy = `import os

OUT = "invocations"


def counted(name):
    with open(os.path.join(OUT, name), "a") as f:
        f.write("x\\n")


def py_train(context):
    counted("py_train")
    return {"weight": 1}


# Between the functions.
def py_evaluate(context):
    counted("py_evaluate")
    return {"score": 0.5}
`;

function workspace(): string {
  return spaces.make([], {
    'pipeline.yaml': yamlPipeline('export_code', [
      '- name: train',
      '  script: "stages.ts:train"',
      '- name: evaluate',
      '  script: "stages.ts:evaluate"',
      '- name: py_train',
      '  script: "stages.py:py_train"',
      '- name: py_evaluate',
      '  script: "stages.py:py_evaluate"',
    ]),
    'stages.ts': stagesTs,
    'lib/scale.ts': 'export const scale = (x: number) => x * 2;\nexport const unused = 1;\n',
    'stages.py': stagesPy,
  });
}

async function run(cwd: string) {
  const { stdout } = await expectExit(0, ['run', 'pipeline.yaml', '--json'], cwd);
  return runFinished(stdout);
}

/** explain's verdict and changes for each stage, hashes blanked out. */
async function explainAll(cwd: string): Promise<Record<string, string[]>> {
  const stages = ['train', 'evaluate', 'py_train', 'py_evaluate'];
  const explained = await Promise.all(
    stages.map((stage) =>
      gpipeJson<{ verdict: string; changes: string[] }>(
        ['explain', 'pipeline.yaml', stage, '--json'],
        cwd,
      ),
    ),
  );
  return Object.fromEntries(
    explained.map((e, i) => [
      stages[i],
      [e.verdict, ...e.changes.map((c) => c.replace(/sha256:[0-9a-f]+…?/g, 'sha256:…'))],
    ]),
  );
}

describe('the code part of a module stage: what its export is made of', () => {
  test("editing one stage's function reruns it alone; comments and unused code rerun nothing", async () => {
    const cwd = workspace();
    const invoked = new InvocationWatch(cwd);
    await run(cwd);
    assert.deepEqual(invoked.since(), ['evaluate', 'py_evaluate', 'py_train', 'train']);

    edit(cwd, 'stages.ts', 'score: 0.5 }', 'score: 0.75 }');
    edit(cwd, 'stages.py', 'return {"score": 0.5}', 'return {"score": 0.75}');
    edit(cwd, 'stages.ts', '// Used by train alone.', '// Used by train, and only by it.');
    edit(cwd, 'stages.py', '# Between the functions.', '# A comment between the functions.');
    edit(cwd, 'lib/scale.ts', 'unused = 1', 'unused = 2');
    assert.deepEqual(await explainAll(cwd), {
      train: ['cached'],
      evaluate: ['run', 'code changed (file stages.ts#evaluate sha256:… → sha256:…)'],
      py_train: ['cached'],
      py_evaluate: ['run', 'code changed (python stages.py:py_evaluate sha256:… → sha256:…)'],
    });
    const second = await run(cwd);
    assert.deepEqual(invoked.since(), ['evaluate', 'py_evaluate']);
    assert.equal(second.stages.train, 'cached');
    assert.equal(second.stages.py_train, 'cached');
  });

  test('a helper reruns the stages that use it, in its file or another; module-level code reruns all', async () => {
    const cwd = workspace();
    const invoked = new InvocationWatch(cwd);
    await run(cwd);
    invoked.since();

    edit(cwd, 'stages.ts', 'Math.round(x)', 'Math.floor(x)');
    edit(cwd, 'lib/scale.ts', 'x * 2', 'x * 3');
    const explained = await explainAll(cwd);
    assert.deepEqual(explained.train, [
      'run',
      'code changed (file stages.ts#train sha256:… → sha256:…; lib/scale.ts sha256:… → sha256:…)',
    ]);
    assert.deepEqual(explained.evaluate, ['cached']);
    await run(cwd);
    assert.deepEqual(invoked.since(), ['train']);

    // A helper both Python stages call, then a module constant: both rerun each time.
    edit(cwd, 'stages.py', 'f.write("x\\n")', 'f.write("y\\n")');
    const helper = await explainAll(cwd);
    assert.deepEqual(helper.py_train, [
      'run',
      'code changed (stages.py#counted sha256:… → sha256:…)',
    ]);
    await run(cwd);
    assert.deepEqual(invoked.since(), ['py_evaluate', 'py_train']);
    edit(cwd, 'stages.py', 'import os\n', 'import os\nimport sys\n');
    await run(cwd);
    assert.deepEqual(invoked.since(), ['py_evaluate', 'py_train']);
  });
});
