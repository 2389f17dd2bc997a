/**
 * `monitor_interval` in a TOML pipeline.toml, through the real `gpipe`: it sets how often an
 * operator is sampled (0 turns the monitor off), bad values are errors at line:column, and
 * `gpipe schema toml-pipeline` documents it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, ok } from './fixtures/cli/harness.ts';
import { project } from './fixtures/toml/toml-project.ts';

/** One node, one operator running `startCommand`; `interval` is the TOML value text. */
function monitoredProject(interval: string | undefined, startCommand: string): string {
  const setting = interval === undefined ? '' : `monitor_interval = ${interval}\n`;
  const dir = project({
    'conf/pipeline.toml': `pipeline_id = "mon"\nname = "Mon"\n${setting}nodes = ["n"]\noperators = ["op"]\n`,
    'conf/nodes/n.toml': 'operator_ids = ["op"]\n',
    'conf/operators/op.toml': `git_repo = "/nowhere"\ngit_tag = "v1"\nstart_command = ${JSON.stringify(startCommand)}\n`,
  });
  mkdirSync(join(dir, 'operators', 'op'), { recursive: true });
  return dir;
}

interface StatusJson {
  stages: { stage: string; resources?: { samples: number } }[];
}

async function resourcesOf(dir: string): Promise<StatusJson['stages'][number]['resources']> {
  ok(await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir));
  const status = ok(await gpipe(['status', '--json'], dir));
  const stage = (JSON.parse(status.stdout) as StatusJson).stages.find((s) => s.stage === 'op');
  assert.ok(stage, status.stdout);
  return stage.resources;
}

test('monitor_interval = "50ms" samples an operator many times in 0.6 s; 0 turns the monitor off', async () => {
  const often = await resourcesOf(monitoredProject('"50ms"', 'sleep 0.6'));
  // At the default second it would get one sample, the one at exit.
  assert.ok(often && often.samples >= 3, JSON.stringify(often));
  const off = await resourcesOf(monitoredProject('0', 'sleep 0.2'));
  assert.equal(off, undefined, 'no resources when the monitor is off');
  const byDefault = await resourcesOf(monitoredProject(undefined, 'sleep 0.2'));
  assert.equal(byDefault?.samples, 1, 'the default second: the sample at exit');
});

test('a bad monitor_interval is an error at its line and column in pipeline.toml', async () => {
  for (const value of ['"5ms"', '"often"', '[1]', '-2']) {
    const dir = monitoredProject(value, 'true');
    const result = await gpipe(['validate', 'conf/pipeline.toml'], dir);
    assert.equal(result.code, 1, `${value}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /^conf\/pipeline\.toml:3:20: .*must be false or 0 \(off\), or an interval of at least 10ms/m,
      value,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('gpipe schema toml-pipeline documents monitor_interval', async () => {
  const schema = ok(await gpipe(['schema', 'toml-pipeline'], process.cwd()));
  const json = JSON.parse(schema.stdout) as { anyOf?: { properties?: object }[] };
  assert.match(schema.stdout, /"monitor_interval"/);
  assert.match(schema.stdout, /Time between two resource samples of a running operator/);
  assert.ok(json);
});
