import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import { runPipeline } from '../src/scheduler/engine.ts';

// A temp dir has no package.json with "type": "module" above it: tsx treats .ts as CommonJS.
const dir = mkdtempSync(join(tmpdir(), 'gp-modules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(file: string) {
  const spec = await loadPipeline(file);
  return runPipeline(spec, { executors: createExecutors(spec), workspaceRoot: dir });
}

test('YAML script and path modules in TypeScript run from a CommonJS folder', async () => {
  writeFileSync(
    join(dir, 'stages.ts'),
    [
      'export function one(): number { return 1; }',
      'export class Two {',
      '  run(context: { getResult(name: string): unknown }): number {',
      "    return (context.getResult('one') as number) + 1;",
      '  }',
      '}',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline:',
      '  name: modules',
      '  modules:',
      '    - { name: one, script: "stages.ts:one" }',
      '    - { name: two, path: "./stages.ts:Two", depends_on: [one] }',
    ].join('\n'),
  );
  const result = await run(join(dir, 'pipeline.yaml'));
  assert.equal(result.status, 'succeeded');
  assert.equal(result.stages.two!.output, 2);
});

test('a TypeScript pipeline module loads from a CommonJS folder', async () => {
  const api = join(import.meta.dirname, '..', 'src', 'index.ts');
  writeFileSync(
    join(dir, 'typed.ts'),
    [
      `import { pipeline, stage } from ${JSON.stringify(api)};`,
      "const a = stage('a', () => 20);",
      "const b = stage('b', { deps: { a } }, ({ a }) => a + 1);",
      "export default pipeline('typed', [b]);",
    ].join('\n'),
  );
  const result = await run(join(dir, 'typed.ts'));
  assert.equal(result.stages.b!.output, 21);
});
