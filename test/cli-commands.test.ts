// Arguments, help and version, `validate` and `graph`, as a child process.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dotId, mermaidLabel, renderGraph } from '../src/cli/graph-render.ts';
import type { StageSpec } from '../src/graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../src/graph/validate.ts';
import { gpipe, removeWorkspace, repoRoot, workspace } from './fixtures/cli/harness.ts';

const cwd = workspace({}, ['diamond.yaml', 'invalid.yaml', 'flaky.yaml']);
after(() => removeWorkspace(cwd));

describe('arguments', () => {
  const usageErrors: [string[], string][] = [
    [
      ['run', 'diamond.yaml', '--bogus'],
      "gpipe: unknown option '--bogus' (see 'gpipe run --help')",
    ],
    [['frobnicate'], "gpipe: unknown command 'frobnicate' (see 'gpipe --help')"],
    [['run'], 'gpipe: no pipeline file: give it as FILE or with -c/--conf'],
    [
      ['validate', 'a.yaml', 'b.yaml'],
      "gpipe: too many arguments for 'validate'. Expected 1 argument but got 2. (see 'gpipe validate --help')",
    ],
    [
      ['graph', 'diamond.yaml', '--format', 'png'],
      "gpipe: option '-f, --format <format>' argument 'png' is invalid. Allowed choices are text, mermaid, dot. (see 'gpipe graph --help')",
    ],
    [
      ['run', 'diamond.yaml', '--json', '--quiet'],
      "gpipe: option '--json' cannot be used with option '-q, --quiet' (see 'gpipe run --help')",
    ],
    [
      ['run', 'diamond.yaml', '--dry-rn'],
      "gpipe: unknown option '--dry-rn', did you mean --dry-run? (see 'gpipe run --help')",
    ],
    // A command's option given before the command: where it goes, its value with it.
    [
      ['--json', 'runs'],
      "gpipe: --json is an option of 'runs': put it after the command (gpipe runs --json)",
    ],
    [
      ['-w', '/tmp', '--json', 'status'],
      "gpipe: -w is an option of 'status': put it after the command (gpipe --json status -w /tmp)",
    ],
    [['--bogus', 'runs'], "gpipe: unknown option '--bogus' (see 'gpipe runs --help')"],
    [
      ['cache', 'gc'],
      "gpipe: required option '--keep-days <days>' not specified (see 'gpipe cache gc --help')",
    ],
  ];
  for (const [args, message] of usageErrors) {
    test(`exit 2 and one line: gpipe ${args.join(' ')}`, async () => {
      const { code, stdout, stderr } = await gpipe(args, cwd);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.equal(stderr, `${message}\n`);
    });
  }

  test('exit 2 for a file of an unknown kind', async (t) => {
    const dir = workspace({ 'notes.txt': 'hello' });
    t.after(() => removeWorkspace(dir));
    const { code, stderr } = await gpipe(['validate', 'notes.txt'], dir);
    assert.equal(code, 2);
    assert.match(stderr, /^gpipe: cannot load notes\.txt: a pipeline file must end in \.yaml/);
    assert.equal(stderr.split('\n').length, 2);
  });

  test('--help on the program and on every command', async () => {
    const main = await gpipe(['--help'], cwd);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /^Usage: gpipe \[options\] \[command\]/);
    for (const command of ['run', 'validate', 'graph'])
      assert.match(main.stdout, new RegExp(`^ {2}${command} `, 'm'));
    const run = await gpipe(['run', '--help'], cwd);
    assert.equal(run.code, 0);
    for (const option of ['--json', '--quiet', '--workspace <dir>'])
      assert.ok(run.stdout.includes(option), option);
    const graph = await gpipe(['graph', '--help'], cwd);
    assert.match(
      graph.stdout,
      /--format <format>.*\(choices: "text", "mermaid", "dot", default: "text"\)/s,
    );
    const validate = await gpipe(['validate', '-h'], cwd);
    assert.match(validate.stdout, /^Usage: gpipe validate \[options\] \[file\]/);
    // As git and npm take it: `help COMMAND` is `COMMAND --help`.
    assert.equal((await gpipe(['help', 'run'], cwd)).stdout, run.stdout);
    const gc = await gpipe(['help', 'cache', 'gc'], cwd);
    assert.match(gc.stdout, /^Usage: gpipe cache gc \[options\]/);
    assert.equal((await gpipe(['help'], cwd)).stdout, main.stdout);
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { code, stdout } = await gpipe(['--version'], cwd);
    assert.equal(code, 0);
    assert.equal(stdout, `${version}\n`);
  });
});

describe('gpipe validate', () => {
  test('every problem at once, each with file:line:column, then a count; exit 1', async () => {
    const { code, stdout, stderr } = await gpipe(['validate', 'invalid.yaml'], cwd);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.at(-1), 'gpipe: 5 problems in invalid.yaml');
    const issues = lines.slice(0, -1);
    assert.equal(issues.length, 5);
    for (const line of issues) assert.match(line, /^invalid\.yaml:\d+:\d+: /);
    assert.ok(
      issues.includes(
        "invalid.yaml:9:7: module 'a': unknown key 'dependson' (hint: did you mean 'depends_on'?)",
      ),
    );
    assert.ok(issues.some((line) => /^invalid\.yaml:5:11: execution\.mode /.test(line)));
    assert.ok(
      issues.some((line) =>
        /^invalid\.yaml:\d+:\d+: module 'c': dependency cycle: c → c2 → c/.test(line),
      ),
    );
  });

  test('a valid pipeline: one line, exit 0', async () => {
    const { code, stdout } = await gpipe(['validate', 'flaky.yaml'], cwd);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      "✓ flaky.yaml: pipeline 'flaky' is valid: 2 stages and 1 fallback in 1 wave\n",
    );
  });
});

describe('gpipe graph', () => {
  test('text: stages wave by wave with their dependencies', async () => {
    const { code, stdout } = await gpipe(['graph', 'diamond.yaml'], cwd);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      [
        "pipeline 'diamond': 4 stages, 3 waves",
        'wave 1',
        '  a',
        'wave 2',
        '  b ← a',
        '  c ← a',
        'wave 3',
        '  d ← b, c',
        '',
      ].join('\n'),
    );
  });

  test('mermaid', async () => {
    const { code, stdout } = await gpipe(['graph', 'diamond.yaml', '--format', 'mermaid'], cwd);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      [
        'flowchart TD',
        '  s0["a"]',
        '  s1["b"]',
        '  s2["c"]',
        '  s3["d"]',
        '  s0 --> s1',
        '  s0 --> s2',
        '  s1 --> s3',
        '  s2 --> s3',
        '',
      ].join('\n'),
    );
  });

  test('dot', async () => {
    const { code, stdout } = await gpipe(['graph', 'diamond.yaml', '-f', 'dot'], cwd);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      [
        'digraph "diamond" {',
        '  rankdir=TB;',
        '  node [shape=box];',
        '  "a";',
        '  "b";',
        '  "c";',
        '  "d";',
        '  "a" -> "b";',
        '  "a" -> "c";',
        '  "b" -> "d";',
        '  "c" -> "d";',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('fallbacks appear as dashed edges', async () => {
    const { stdout } = await gpipe(['graph', 'flaky.yaml', '--format', 'dot'], cwd);
    assert.match(stdout, /^ {2}"lint_soft" \[style=dashed\];$/m);
    assert.match(stdout, /^ {2}"lint" -> "lint_soft" \[style=dashed, label="fallback"\];$/m);
    const text = await gpipe(['graph', 'flaky.yaml'], cwd);
    assert.match(text.stdout, /^ {2}lint {2}\(fallback: lint_soft\)$/m);
  });
});

describe('graph rendering of awkward names', () => {
  const stage = (name: string, dependsOn: string[] = []): StageSpec => ({
    name,
    dependsOn,
    cpus: 1,
    task: { kind: 'command', argv: ['true'], shell: false },
  });
  const awkward = (): ValidPipeline => {
    const checked = validatePipeline(
      {
        name: 'say "hi"',
        mode: 'parallel',
        failurePolicy: 'fail_fast',
        stages: [stage('load "raw"'), stage('weird #1 <x>', ['load "raw"'])],
      },
      4,
    );
    assert.ok('pipeline' in checked, JSON.stringify(checked.issues));
    return checked.pipeline;
  };

  test('dot quotes and escapes names', () => {
    assert.equal(dotId('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\\nd"');
    const dot = renderGraph(awkward(), 'dot');
    assert.ok(dot.startsWith('digraph "say \\"hi\\"" {'));
    assert.ok(dot.includes('  "load \\"raw\\"" -> "weird #1 <x>";'));
  });

  test('mermaid uses safe ids and entity codes in labels', () => {
    assert.equal(mermaidLabel('a "b" #1 <c>'), 'a #quot;b#quot; #35;1 #lt;c#gt;');
    const mermaid = renderGraph(awkward(), 'mermaid');
    assert.ok(mermaid.includes('  s0["load #quot;raw#quot;"]'));
    assert.ok(mermaid.includes('  s1["weird #35;1 #lt;x#gt;"]'));
    assert.ok(mermaid.includes('  s0 --> s1'));
  });
});
