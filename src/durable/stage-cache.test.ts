import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InlineFunction, PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import type { RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { cacheKeyOf, cacheKeyParts, partsJson } from './cache-key.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Text } from './hash.ts';
import { StageCache } from './stage-cache.ts';

const hashOf = (name: string) => `sha256:${name.padEnd(64, '0')}`;
/** The workspace: the command stage below runs there, and names its script. */
const root = mkdtempSync(join(tmpdir(), 'gp-stage-cache-'));
writeFileSync(join(root, 'a.py'), 'print(1)\n');
after(() => rmSync(root, { recursive: true, force: true }));

const stages: StageSpec[] = [
  {
    name: 'src',
    dependsOn: [],
    cpus: 1,
    task: { kind: 'inline' },
    run: (() => [1, 2]) as InlineFunction,
  },
  { name: 'b', dependsOn: [], cpus: 1, task: { kind: 'inline' }, run: (() => 1) as InlineFunction },
  {
    name: 'train "x"',
    dependsOn: ['src', 'b'],
    cpus: 1,
    version: '2',
    params: { lr: 0.5, n: 3 },
    task: {
      kind: 'command',
      argv: ['python3', 'a.py'],
      shell: false,
      cwd: root,
      env: { MODE: 'fast' },
    },
  },
  {
    name: 'each',
    dependsOn: ['b', 'src'],
    cpus: 1,
    fanOut: { over: 'src' },
    params: { k: 1 },
    task: { kind: 'inline' },
    run: ((x: number) => x) as InlineFunction,
  },
];

describe('StageCache.keyOf', () => {
  let store: RunStore;
  let pipeline: ValidPipeline;
  before(async () => {
    store = await openSqliteStore(':memory:');
    const spec: PipelineSpec = {
      name: 'p',
      stages,
      mode: 'parallel',
      failurePolicy: 'fail_fast',
      maxCpus: 2,
    };
    const checked = validatePipeline(spec, 2);
    assert.ok('pipeline' in checked);
    pipeline = checked.pipeline;
  });
  after(() => store.close());

  async function cacheWith(hashes: string[], redact?: (text: string) => string) {
    const outputHashes = new Map(hashes.map((name) => [name, hashOf(name)]));
    return StageCache.open({
      store,
      pipeline,
      outputHashes,
      reuse: true,
      workspaceRoot: root,
      runsDir: join(root, '.gpipe', 'runs'),
      ...(redact && { redact }),
    });
  }

  test('gives the key and parts cacheKeyParts gives, without the parts object until asked', async () => {
    const cache = await cacheWith(['src', 'b']);
    for (const stage of stages.slice(0, 3)) {
      const keyed = cache.keyOf(stage)!;
      const upstream = Object.fromEntries(stage.dependsOn.map((name) => [name, hashOf(name)]));
      const parts = cacheKeyParts(stage, upstream, root);
      assert.equal(keyed.key, cacheKeyOf(parts), stage.name);
      assert.equal(keyed.partsJson, partsJson(parts));
      assert.deepEqual(keyed.parts, parts);
    }
    assert.match(cache.keyOf(stages[2]!)!.parts.code ?? '', /^a\.py sha256:[0-9a-f]{16}$/);
    // Run at the workspace root: no absolute path in the key, which a moved project keeps.
    assert.equal(cache.keyOf(stages[2]!)!.parts.command, 'python3 a.py');
  });

  test("an instance's key has its item's hash in place of the source's output", async () => {
    const cache = await cacheWith(['src', 'b']);
    const each = stages[3]!;
    const keyed = cache.keyOf(each, { of: 'each', index: [1], value: { n: 2 } })!;
    const parts = cacheKeyParts(each, { b: hashOf('b') }, root);
    parts.item = sha256Text(canonicalJson({ n: 2 }));
    assert.equal(keyed.key, cacheKeyOf(parts));
    assert.deepEqual(keyed.parts, parts);
    const other = cache.keyOf(each, { of: 'each', index: [0], value: { n: 3 } })!;
    assert.notEqual(other.key, keyed.key);
  });

  test('has no key while an upstream output hash is missing, or for a stage not cached', async () => {
    const cache = await cacheWith(['src']);
    assert.equal(cache.keyOf(stages[2]!), undefined);
    assert.ok(cache.keyOf(stages[0]!));
    assert.equal(cache.keyOf({ ...stages[0]!, cache: false }), undefined);
  });

  test('keeps masked parts, keyed by the real ones', async () => {
    const cache = await cacheWith(['src', 'b'], (text) => text.replaceAll('fast', '***'));
    const stage = stages[2]!;
    const keyed = cache.keyOf(stage)!;
    const parts = cacheKeyParts(stage, { src: hashOf('src'), b: hashOf('b') }, root);
    assert.equal(keyed.key, cacheKeyOf(parts));
    assert.equal(keyed.parts.env, 'MODE=***');
    assert.equal(keyed.partsJson, partsJson(keyed.parts));
  });
});
