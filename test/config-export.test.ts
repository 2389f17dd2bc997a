// The audit copy of a resolved config: its file name, its format, its masking.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { exportResolvedConfig } from '../src/config/resolved-config-export.ts';
import { Redactor } from '../src/secrets/redactor.ts';

const root = mkdtempSync(join(tmpdir(), 'gpipe-export-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the audit export: the resolved config in the input format, secrets masked, written whole', () => {
  const redactor = new Redactor();
  const config = {
    pipeline: { name: 'p', env: { API_TOKEN: 'sekrit-value', NOTE: 'uses sekrit-value' }, n: 3 },
  };
  redactor.add('sekrit-value');
  const dir = join(root, 'integration');
  const at = new Date('2026-12-01T20:30:15.123Z');
  const yamlFile = exportResolvedConfig({
    config,
    format: 'yaml',
    directory: dir,
    pipelineId: 'p',
    redactor,
    at,
  });
  const tomlFile = exportResolvedConfig({
    config,
    format: 'toml',
    directory: dir,
    pipelineId: 'my pipe/1',
    redactor,
    at,
  });
  assert.equal(yamlFile, join(dir, 'p_20261201T203015123Z.yaml'));
  assert.equal(tomlFile, join(dir, 'my_pipe_1_20261201T203015123Z.toml'));
  const masked = { pipeline: { name: 'p', env: { API_TOKEN: '***', NOTE: 'uses ***' }, n: 3 } };
  assert.deepEqual(parseYaml(readFileSync(yamlFile, 'utf8')), masked);
  assert.deepEqual(JSON.parse(JSON.stringify(parseToml(readFileSync(tomlFile, 'utf8')))), masked);
  assert.deepEqual(readdirSync(dir).sort(), [
    'my_pipe_1_20261201T203015123Z.toml',
    'p_20261201T203015123Z.yaml',
  ]);
  assert.equal(config.pipeline.env.API_TOKEN, 'sekrit-value', 'the config itself is left as it is');
});
