/**
 * 1,000 malformed TOML pipelines from a seeded generator — truncations, type swaps, unknown
 * keys, bad refs, junk, repeated and missing lines — through the loader in-process, and a few
 * through the real CLI: never a stack trace, always exit 1 with every problem placed.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '../bench/dags.ts';
import { describeError } from '../src/cli/describe-error.ts';
import { loadTomlPipeline } from '../src/config/toml-pipeline.ts';
import { ConfigError } from '../src/errors.ts';
import { gpipe } from './fixtures/cli/harness.ts';
import {
  project,
  seedNodeToml,
  seedOperatorToml,
  seedPipelineToml,
  writeFiles,
} from './fixtures/toml/toml-project.ts';

const base: Readonly<Record<string, string>> = {
  'conf/pipeline.toml': seedPipelineToml.replace(
    'refs = ["cleaner:v2.0"]',
    'refs = ["cleaner:v2.0", "loader"]',
  ),
  'conf/nodes/node_1_v1.0.toml': seedNodeToml.replace('["cleaner"]', '["loader", "cleaner"]'),
  'conf/operators/cleaner_v2.0.toml': seedOperatorToml('/repo').replace(
    'upstream_dependencies = []',
    'upstream_dependencies = ["loader"]',
  ),
  'conf/operators/loader.toml':
    'operator_id = "loader"\ngit_repo = "/repo"\ngit_tag = "v1"\nstart_command = "load"\n[extra_env_vars]\nA = "1"\n',
};
const names = Object.keys(base);

const swaps = [
  '1',
  '-3.5',
  '"text"',
  'true',
  '[]',
  '[1, "a"]',
  '{}',
  '{ x = 1 }',
  '1979-05-27',
  '""',
];
const junk = ['=', '[', ']]', '"', "'''", '{', '#', '\\', 'ü', '\t=\t', '[[x]]', 'a.b.', '\u0000'];
const badRefs = [
  '"nope:v1"',
  '"a b"',
  '"../up"',
  '":v1"',
  '7',
  '"x:"',
  '"cleaner:v2.0"',
  '"node_1:v9"',
];

type Files = Record<string, string>;

/** One mutation of the files, chosen and placed by `next`; returns what it did. */
function mutate(files: Files, next: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const name = pick(names);
  const text = files[name]!;
  const lines = text.split('\n');
  const line = Math.floor(next() * lines.length);
  switch (pick(['truncate', 'swap', 'unknown', 'ref', 'junk', 'repeat', 'drop', 'id'] as const)) {
    case 'truncate': {
      const at = Math.floor(next() * text.length);
      files[name] = text.slice(0, at);
      return `truncate ${name} at ${at}`;
    }
    case 'swap': {
      const candidates = lines.flatMap((l, i) => (/^\s*[\w."]+\s*=/.test(l) ? [i] : []));
      const target = pick(candidates);
      const value = pick(swaps);
      lines[target] = lines[target]!.replace(/=.*$/, `= ${value}`);
      files[name] = lines.join('\n');
      return `swap ${name}:${target + 1} to ${value}`;
    }
    case 'unknown': {
      lines.splice(line, 0, `unknwon_${Math.floor(next() * 100)} = 1`);
      files[name] = lines.join('\n');
      return `unknown key in ${name} at line ${line + 1}`;
    }
    case 'ref': {
      const refs = files['conf/pipeline.toml']!;
      const ref = pick(badRefs);
      files['conf/pipeline.toml'] =
        next() < 0.5
          ? refs.replace('refs = ["node_1:v1.0"]', `refs = ["node_1:v1.0", ${ref}]`)
          : refs.replace('"loader"]', `${ref}]`);
      return `ref ${ref}`;
    }
    case 'junk': {
      const at = Math.floor(next() * text.length);
      const piece = pick(junk);
      files[name] = text.slice(0, at) + piece + text.slice(at);
      return `junk ${JSON.stringify(piece)} in ${name} at ${at}`;
    }
    case 'repeat': {
      lines.splice(line, 0, lines[line]!);
      files[name] = lines.join('\n');
      return `repeat ${name}:${line + 1}`;
    }
    case 'drop': {
      lines.splice(line, 1);
      files[name] = lines.join('\n');
      return `drop ${name}:${line + 1}`;
    }
    case 'id': {
      files[name] = text.replace(
        /(operator_id|node_id) = "[^"]*"/,
        `$1 = "${pick(['other', '', 'a/b', '..'])}"`,
      );
      files['conf/nodes/node_1_v1.0.toml'] = files['conf/nodes/node_1_v1.0.toml']!.replace(
        '"loader"',
        pick(['"lodaer"', '"cleaner"', '3']),
      );
      return `ids in ${name}`;
    }
  }
}

/** The generated cases: seed, what was done, the files. */
function* cases(count: number): Generator<{ seed: number; steps: string[]; files: Files }> {
  for (let seed = 1; seed <= count; seed++) {
    const next = mulberry32(seed);
    const files: Files = { ...base };
    const steps: string[] = [];
    const mutations = 1 + Math.floor(next() * 3);
    for (let i = 0; i < mutations; i++) steps.push(mutate(files, next));
    yield { seed, steps, files };
  }
}

test('1,000 malformed pipelines: a ConfigError (exit 1) with every issue placed, or a valid load; never anything else', async () => {
  const dir = project(base);
  let rejected = 0;
  for (const { seed, steps, files } of cases(1000)) {
    writeFiles(dir, files);
    const what = `seed ${seed}: ${steps.join('; ')}`;
    const outcome = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
      projectRoot: dir,
      hostCpus: 8,
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (outcome === undefined) continue;
    rejected++;
    assert.ok(outcome instanceof ConfigError, `${what}: ${(outcome as Error).stack}`);
    assert.ok(outcome.issues.length > 0, what);
    for (const issue of outcome.issues) {
      assert.ok(
        issue.file && names.some((name) => issue.file === join(dir, name)),
        `${what}: file ${issue.file}`,
      );
      const lineCount = readFileSync(issue.file, 'utf8').split('\n').length;
      assert.ok(
        issue.line! >= 1 && issue.line! <= lineCount,
        `${what}: line ${issue.line} of ${lineCount}`,
      );
      assert.ok(issue.column! >= 1, `${what}: column ${issue.column}`);
      assert.ok(!issue.message.includes('\n'), `${what}: one line: ${issue.message}`);
    }
    const report = describeError(outcome, { program: 'gpipe', cwd: dir, debug: false });
    assert.equal(report.exitCode, 1, what);
    assert.ok(!report.lines.some((line) => /^\s+at /.test(line)), `${what}: a stack trace`);
  }
  // Almost every mutation breaks the pipeline; a few (a dropped blank line) leave it valid.
  assert.ok(rejected >= 900, `only ${rejected} of 1000 were rejected`);
});

test('malformed pipelines through the real CLI: exit 1, placed lines, no stack trace', async () => {
  const dir = project(base);
  for (const { seed, steps, files } of [...cases(40)].filter((_, i) => i % 8 === 0)) {
    for (const name of names) rmSync(join(dir, name), { force: true });
    writeFiles(dir, files);
    const result = await gpipe(['validate', 'conf/pipeline.toml'], dir);
    const what = `seed ${seed}: ${steps.join('; ')}\n${result.stderr}`;
    if (result.code === 0) continue;
    assert.equal(result.code, 1, what);
    const lines = result.stderr.trimEnd().split('\n');
    assert.match(lines.at(-1)!, /^gpipe: \d+ problems?/, what);
    for (const line of lines.slice(0, -1))
      assert.match(line, /^conf\/[\w./-]+\.toml:\d+:\d+: /, what);
    assert.doesNotMatch(result.stderr, /^\s+at /m, what);
  }
  writeFileSync(join(dir, 'conf', 'pipeline.toml'), '[pipeline\n');
  const broken = await gpipe(['validate', 'conf/pipeline.toml'], dir);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^conf\/pipeline\.toml:1:\d+: invalid TOML: /);
});
