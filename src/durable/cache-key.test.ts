import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { InlineFunction, StageSpec, TaskSpec } from '../graph/pipeline.ts';
import type { CacheKeyParts } from '../store/run-store.ts';
import { cacheKeyOf, cacheKeyParts, describeKeyChanges } from './cache-key.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Text } from './hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-cache-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type CommandTask = Extract<TaskSpec, { kind: 'command' }>;

function commandStage(task: Partial<CommandTask> = {}, more: Partial<StageSpec> = {}): StageSpec {
  return {
    name: 'train',
    dependsOn: ['clean'],
    cpus: 1,
    version: '1',
    params: { n: 3, lr: 0.5 },
    task: {
      kind: 'command',
      argv: ['python3', 'a.py', '--n', '3'],
      shell: false,
      cwd: '/work/project',
      env: { MODE: 'fast' },
      ...task,
    },
    ...more,
  };
}

function inlineStage(run: InlineFunction): StageSpec {
  return { name: 'sum', dependsOn: [], cpus: 1, task: { kind: 'inline' }, run };
}

const upstream = { clean: `sha256:${'a'.repeat(64)}` };

describe('cacheKeyParts', () => {
  test('a command stage: every part readable, params and env in a canonical order', () => {
    const stage = commandStage(
      { env: { ZED: 'last', ALPHA: 'first' } },
      { params: { n: 3, nested: { b: [1, { d: 2, c: 1 }], a: null } } },
    );
    assert.deepStrictEqual(cacheKeyParts(stage, upstream, dir), {
      stage: 'train',
      version: '1',
      command: 'python3 a.py --n 3 (cwd /work/project)',
      params: '{"n":3,"nested":{"a":null,"b":[1,{"c":1,"d":2}]}}',
      env: 'ALPHA=first ZED=last',
      upstream,
    });
  });

  test('argv items with spaces or quotes make a JSON array; a shell command reads as sh -c', () => {
    const spaced = cacheKeyParts(
      commandStage({ argv: ['echo', 'two words'], cwd: undefined }),
      {},
      dir,
    );
    assert.equal(spaced.command, '["echo","two words"]');
    const empty = cacheKeyParts(commandStage({ argv: ['printf', ''], cwd: undefined }), {}, dir);
    assert.equal(empty.command, '["printf",""]');
    const shell = cacheKeyParts(
      commandStage({ argv: ["echo 'hi' | wc -c"], shell: true, cwd: undefined }),
      {},
      dir,
    );
    assert.equal(shell.command, `sh -c 'echo '\\''hi'\\'' | wc -c'`);
    const env = cacheKeyParts(commandStage({ env: { A: '1', B: 'x y' } }), {}, dir);
    assert.equal(env.env, '["A=1","B=x y"]');
  });

  test('long params and env are shown by their start and keyed by their hash', () => {
    const long = 'x'.repeat(300);
    const parts = cacheKeyParts(
      commandStage({ env: { BIG: long } }, { params: { long } }),
      {},
      dir,
    );
    assert.match(parts.params!, /^\{"long":"x{51}… sha256:[0-9a-f]{16} \(311 bytes\)$/);
    assert.match(parts.env!, /^BIG=x{56}… sha256:[0-9a-f]{16} \(304 bytes\)$/);
    // A change past the shown start still changes the part.
    const later = cacheKeyParts(
      commandStage({}, { params: { long: `${long.slice(1)}y` } }),
      {},
      dir,
    );
    assert.notEqual(later.params, parts.params);
  });

  test('parts not declared are left out, and upstream hashes are copied', () => {
    const hashes: Record<string, string> = { clean: 'sha256:1' };
    const parts = cacheKeyParts(
      {
        name: 'bare',
        dependsOn: [],
        cpus: 1,
        task: { kind: 'command', argv: ['true'], shell: false },
      },
      hashes,
      dir,
    );
    hashes.clean = 'sha256:2';
    assert.deepStrictEqual(parts, {
      stage: 'bare',
      command: 'true',
      upstream: { clean: 'sha256:1' },
    });
  });

  test('an inline stage: the hash of its source, the same string every call', () => {
    const add = (() => 1 + 2) as InlineFunction;
    const first = cacheKeyParts(inlineStage(add), {}, dir);
    assert.match(first.code!, /^function sha256:[0-9a-f]{16}$/);
    assert.equal(cacheKeyParts(inlineStage(add), {}, dir).code, first.code);
    // Same source, another function object: the same code (closed-over values go in params).
    assert.equal(
      cacheKeyParts(inlineStage((() => 1 + 2) as InlineFunction), {}, dir).code,
      first.code,
    );
    assert.notEqual(
      cacheKeyParts(inlineStage((() => 1 + 3) as InlineFunction), {}, dir).code,
      first.code,
    );
  });

  test('a module stage: its file hashed, read again as soon as the file is rewritten', () => {
    const file = join(dir, 'stages.ts');
    const stage: StageSpec = {
      name: 'load',
      dependsOn: [],
      cpus: 1,
      task: { kind: 'module', file, exportName: 'load', style: 'function' },
    };
    writeFileSync(file, 'export const load = () => 1;\n');
    const first = cacheKeyParts(stage, {}, dir).code!;
    assert.match(first, /^file stages\.ts#load sha256:[0-9a-f]{16}$/);
    assert.equal(cacheKeyParts(stage, {}, dir).code, first);
    // Same size, written at once: a timestamp alone might not have moved.
    writeFileSync(file, 'export const load = () => 2;\n');
    const second = cacheKeyParts(stage, {}, dir).code!;
    assert.notEqual(second, first);
    writeFileSync(file, 'export const load = () => 1;\n');
    assert.equal(cacheKeyParts(stage, {}, dir).code, first);
    const other = { ...stage, task: { ...stage.task, exportName: 'other' } } as StageSpec;
    assert.match(cacheKeyParts(other, {}, dir).code!, /^file stages\.ts#other sha256:/);
  });

  test('a Python stage: its module file hashed, and its interpreter in the command part', () => {
    const file = join(dir, 'score.py');
    const stage: StageSpec = {
      name: 'score',
      dependsOn: [],
      cpus: 1,
      task: {
        kind: 'python',
        style: 'class',
        exportName: 'Scorer',
        file,
        module: 'models.score',
        searchPath: [dir],
        python: '/venvs/a/bin/python',
      },
    };
    writeFileSync(file, 'class Scorer:\n    pass\n');
    const first = cacheKeyParts(stage, {}, dir);
    assert.match(first.code!, /^python models\.score:Scorer sha256:[0-9a-f]{16}$/);
    assert.equal(first.command, 'python /venvs/a/bin/python');
    writeFileSync(file, 'class Scorer:\n    x=1\n');
    const edited = cacheKeyParts(stage, {}, dir);
    assert.notEqual(edited.code, first.code);
    assert.notEqual(cacheKeyOf(edited), cacheKeyOf(first));
    assert.deepStrictEqual(
      describeKeyChanges(first, edited).map((change) => change.replace(/[0-9a-f]{16}/g, '…')),
      ['code changed (python models.score:Scorer sha256:… → sha256:…)'],
    );
  });

  test('a module file that cannot be read gives a code part saying so, not an exception', () => {
    const stage: StageSpec = {
      name: 'gone',
      dependsOn: [],
      cpus: 1,
      task: { kind: 'module', file: join(dir, 'missing.ts'), exportName: 'run', style: 'class' },
    };
    assert.equal(cacheKeyParts(stage, {}, dir).code, 'file missing.ts#run unreadable (ENOENT)');
  });
});

describe('paths inside the workspace', () => {
  /** Two copies of one project: the same files, the second as if moved or renamed. */
  const projects = ['before', 'after'].map((name) => {
    const root = join(dir, name);
    mkdirSync(join(root, 'sub', 'dir'), { recursive: true });
    mkdirSync(join(root, '.venv', 'bin'), { recursive: true });
    writeFileSync(join(root, 'sub', 'dir', 'a.py'), 'print(1)\n');
    writeFileSync(join(root, 'score.py'), 'def score(context):\n    pass\n');
    return root;
  });
  const [root, moved] = projects as [string, string];

  test("a command's cwd is keyed relative to the workspace root, and left out at the root", () => {
    const at = (cwd: string | undefined) =>
      cacheKeyParts(commandStage({ cwd, env: undefined }), upstream, root).command;
    assert.equal(at(join(root, 'sub', 'dir')), 'python3 a.py --n 3 (cwd sub/dir)');
    assert.equal(at('sub/dir'), 'python3 a.py --n 3 (cwd sub/dir)');
    assert.equal(at(root), 'python3 a.py --n 3');
    assert.equal(at('.'), 'python3 a.py --n 3');
    assert.equal(at(undefined), 'python3 a.py --n 3');
    // Outside the workspace, even beside it, it stays as given.
    assert.equal(at('/work/project'), 'python3 a.py --n 3 (cwd /work/project)');
    assert.equal(at(join(dir, 'elsewhere')), `python3 a.py --n 3 (cwd ${join(dir, 'elsewhere')})`);
    assert.equal(at(`${root}-x`), `python3 a.py --n 3 (cwd ${root}-x)`);
  });

  test('a moved workspace gives the same command key, its scripts hashed where they are now', () => {
    const keyIn = (workspace: string) => {
      const stage = commandStage({ cwd: join(workspace, 'sub', 'dir') });
      return cacheKeyParts(stage, upstream, workspace);
    };
    const before = keyIn(root);
    assert.match(before.code!, /^a\.py sha256:[0-9a-f]{16}$/);
    assert.deepStrictEqual(keyIn(moved), before);
    assert.equal(cacheKeyOf(keyIn(moved)), cacheKeyOf(before));
  });

  test("a Python stage's interpreter inside the workspace is keyed from its root", () => {
    const python = (workspace: string, task: Partial<PythonTask>) =>
      cacheKeyParts(pythonStage(workspace, task), {}, workspace).command;
    const venv = (workspace: string) => join(workspace, '.venv', 'bin', 'python');
    assert.equal(python(root, { python: venv(root) }), 'python ./.venv/bin/python');
    assert.equal(python(moved, { python: venv(moved) }), python(root, { python: venv(root) }));
    assert.equal(python(root, { python: '/usr/bin/python3' }), 'python /usr/bin/python3');
    assert.equal(python(root, { python: 'python3.11' }), 'python python3.11');
    const environment = (workspace: string) => ({
      name: 'ml',
      kind: 'venv' as const,
      dir: join(workspace, 'envs', 'ml'),
      source: join(workspace, 'requirements.txt'),
    });
    assert.equal(
      python(root, { environment: environment(root) }),
      'python ./envs/ml/bin/python in venv environment ml (not made)',
    );
    assert.equal(
      python(moved, { environment: environment(moved) }),
      python(root, { environment: environment(root) }),
    );
  });
});

type PythonTask = Extract<TaskSpec, { kind: 'python' }>;

function pythonStage(workspace: string, task: Partial<PythonTask>): StageSpec {
  return {
    name: 'score',
    dependsOn: [],
    cpus: 1,
    task: {
      kind: 'python',
      style: 'function',
      exportName: 'score',
      file: join(workspace, 'score.py'),
      searchPath: [workspace],
      ...task,
    },
  };
}

describe('cacheKeyOf', () => {
  test('equal stages give equal keys, in any key order', () => {
    const key = cacheKeyOf(cacheKeyParts(commandStage(), upstream, dir));
    assert.match(key, /^sha256:[0-9a-f]{64}$/);
    assert.equal(cacheKeyOf(cacheKeyParts(commandStage(), upstream, dir)), key);
    const reordered = commandStage({}, { params: { lr: 0.5, n: 3 } });
    assert.equal(cacheKeyOf(cacheKeyParts(reordered, { ...upstream }, dir)), key);
    const parts = cacheKeyParts(commandStage(), upstream, dir);
    const shuffled: CacheKeyParts = {
      upstream: parts.upstream,
      env: parts.env!,
      command: parts.command!,
      params: parts.params!,
      version: parts.version!,
      stage: parts.stage,
    };
    assert.equal(cacheKeyOf(shuffled), key);
  });

  test('is the hash of the parts in canonical JSON, keys stored by earlier versions included', () => {
    const some = (i: number, text: string) => (i % 2 === 0 ? undefined : text);
    for (let i = 0; i < 64; i++) {
      const parts: CacheKeyParts = {
        stage: `s"${i}\u00e9`,
        upstream: Object.fromEntries(
          ['b', 'a', 'Z', 'é', 'a1'].slice(0, i % 6).map((name) => [name, `sha256:${name}${i}`]),
        ),
      };
      const optional = {
        version: some(i >> 1, `v${i}`),
        code: some(i >> 2, 'function sha256:c0de'),
        command: some(i >> 3, 'python3 "a b".py'),
        params: some(i >> 4, '{"n":3}'),
        env: some(i >> 5, 'A=1 B=2'),
        item: some(i >> 3, `3 sha256:${i}`),
      };
      for (const [name, value] of Object.entries(optional))
        if (value !== undefined) (parts as unknown as Record<string, string>)[name] = value;
      assert.equal(cacheKeyOf(parts), sha256Text(canonicalJson(parts)), JSON.stringify(parts));
    }
  });

  test('a part the fast path does not know still changes the key', () => {
    const parts: CacheKeyParts = { stage: 's', upstream: {} };
    const later = { ...parts, lateAddition: 'x' } as CacheKeyParts;
    assert.notEqual(cacheKeyOf(later), cacheKeyOf(parts));
    assert.equal(cacheKeyOf(later), sha256Text(canonicalJson(later)));
    assert.notEqual(cacheKeyOf({ ...parts, item: '0 sha256:a' }), cacheKeyOf(parts));
  });

  test('every part contributes: changing any one gives a new key', () => {
    const two = { ...upstream, other: 'sha256:2' };
    const variants: [string, StageSpec, Record<string, string>][] = [
      ['base', commandStage(), upstream],
      ['name', commandStage({}, { name: 'train2' }), upstream],
      ['version', commandStage({}, { version: '2' }), upstream],
      ['no version', commandStage({}, { version: undefined }), upstream],
      ['argv', commandStage({ argv: ['python3', 'a.py', '--n', '4'] }), upstream],
      ['shell', commandStage({ argv: ['python3 a.py --n 3'], shell: true }), upstream],
      ['cwd', commandStage({ cwd: '/work/other' }), upstream],
      ['params', commandStage({}, { params: { n: 4, lr: 0.5 } }), upstream],
      ['no params', commandStage({}, { params: undefined }), upstream],
      ['env', commandStage({ env: { MODE: 'slow' } }), upstream],
      ['no env', commandStage({ env: undefined }), upstream],
      ['upstream hash', commandStage(), { clean: `sha256:${'b'.repeat(64)}` }],
      ['upstream added', commandStage(), two],
      ['upstream renamed', commandStage(), { cleaner: upstream.clean }],
      ['inline code', inlineStage((() => 1) as InlineFunction), upstream],
      ['other inline code', inlineStage((() => 2) as InlineFunction), upstream],
    ];
    const keys = new Map<string, string>();
    for (const [what, stage, hashes] of variants) {
      const key = cacheKeyOf(cacheKeyParts(stage, hashes, dir));
      assert.equal(keys.get(key), undefined, `${what} gives the same key as ${keys.get(key)}`);
      keys.set(key, what);
    }
  });
});

describe('describeKeyChanges', () => {
  const base: CacheKeyParts = {
    stage: 'train',
    version: '1',
    code: 'function sha256:aaaaaaaaaaaaaaaa',
    command: 'python3 a.py --n 3',
    params: '{"n":3}',
    env: 'MODE=fast',
    upstream: { clean: `sha256:${'1'.repeat(64)}`, load: 'sha256:2' },
  };

  test('equal parts: no changes', () => {
    assert.deepStrictEqual(
      describeKeyChanges(base, { ...base, upstream: { ...base.upstream } }),
      [],
    );
  });

  test('one sentence per changed part, naming it', () => {
    const changed = (after: Partial<CacheKeyParts>) =>
      describeKeyChanges(base, { ...base, ...after });
    assert.deepStrictEqual(changed({ code: 'function sha256:bbbbbbbbbbbbbbbb' }), [
      'code changed (function sha256:aaaaaaaaaaaaaaaa → sha256:bbbbbbbbbbbbbbbb)',
    ]);
    assert.deepStrictEqual(changed({ code: 'file stages.ts#load sha256:bbbbbbbbbbbbbbbb' }), [
      'code changed (function sha256:aaaaaaaaaaaaaaaa → file stages.ts#load sha256:bbbbbbbbbbbbbbbb)',
    ]);
    assert.deepStrictEqual(changed({ command: 'python3 a.py --n 4' }), [
      'command changed: python3 a.py --n 3 → python3 a.py --n 4',
    ]);
    assert.deepStrictEqual(changed({ params: '{"n":4}' }), ['params changed: {"n":3} → {"n":4}']);
    assert.deepStrictEqual(changed({ env: 'MODE=slow' }), ['env changed: MODE=fast → MODE=slow']);
    assert.deepStrictEqual(changed({ version: '2' }), ['version changed: 1 → 2']);
    assert.deepStrictEqual(changed({ stage: 'train2' }), ['stage changed: train → train2']);
  });

  test('a part that appears or goes is shown as (none)', () => {
    const { params: _params, ...withoutParams } = base;
    assert.deepStrictEqual(describeKeyChanges(withoutParams, base), [
      'params changed: (none) → {"n":3}',
    ]);
    assert.deepStrictEqual(describeKeyChanges(base, withoutParams), [
      'params changed: {"n":3} → (none)',
    ]);
  });

  test('upstream outputs: changed (hashes shortened), added and removed, by name', () => {
    const after: CacheKeyParts = {
      ...base,
      upstream: { clean: `sha256:${'9'.repeat(64)}`, extra: 'sha256:3' },
    };
    assert.deepStrictEqual(describeKeyChanges(base, after), [
      `upstream 'clean' output changed (sha256:${'1'.repeat(16)}… → sha256:${'9'.repeat(16)}…)`,
      "upstream 'extra' added",
      "upstream 'load' removed",
    ]);
  });

  test('several parts changed: each is reported, in a fixed order', () => {
    const after: CacheKeyParts = {
      ...base,
      version: '2',
      params: '{"n":4}',
      upstream: { clean: base.upstream.clean! },
    };
    assert.deepStrictEqual(describeKeyChanges(base, after), [
      'version changed: 1 → 2',
      'params changed: {"n":3} → {"n":4}',
      "upstream 'load' removed",
    ]);
  });
});

test("a stage's environment is in its key by the spec hash init made it from", () => {
  const envDir = join(dir, 'envs', 'ml');
  const environment = { name: 'ml', kind: 'venv' as const, dir: envDir, source: '/r.txt' };
  const made = (hash: string) => {
    mkdirSync(envDir, { recursive: true });
    writeFileSync(join(envDir, '.gpipe-env.json'), JSON.stringify({ hash }));
    return cacheKeyParts(commandStage({ environment }), upstream, dir);
  };
  const first = made(`sha256:${'1'.repeat(64)}`);
  assert.equal(
    first.command,
    `python3 a.py --n 3 (cwd /work/project) in venv environment ml (sha256:${'1'.repeat(16)})`,
  );
  const remade = made(`sha256:${'2'.repeat(64)}`);
  assert.notEqual(cacheKeyOf(remade), cacheKeyOf(first));
  assert.notEqual(
    cacheKeyOf(cacheKeyParts(commandStage(), upstream, dir)),
    cacheKeyOf(first),
    'no environment, another key',
  );
});
