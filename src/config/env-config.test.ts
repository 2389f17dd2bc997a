import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envConfigBranch, envConfigSchema, environmentSpecOf, isUri } from './env-config.ts';

const parse = (value: unknown) => envConfigSchema.parse(value);

test('env_config → the environment spec: kind by key, files relative to the base dir', () => {
  assert.deepStrictEqual(
    environmentSpecOf(parse({ env_name: 'a', requirements_path: 'req.txt' }), '/code/op', '/p'),
    { name: 'a', kind: 'venv', dir: '/p/envs/a', source: '/code/op/req.txt' },
  );
  assert.deepStrictEqual(
    environmentSpecOf(
      parse({ env_name: 'u', pyproject_path: '/abs/pyproject.toml', uv_extra_args: ['--x'] }),
      '/code',
      '/p',
    ),
    { name: 'u', kind: 'uv', dir: '/p/envs/u', source: '/abs/pyproject.toml', extraArgs: ['--x'] },
  );
  assert.deepStrictEqual(
    environmentSpecOf(
      parse({ env_name: 'x', pixi_toml_path: 'pixi.toml', pixi_channels: ['bioconda'] }),
      '/c',
      '/p',
    ),
    { name: 'x', kind: 'pixi', dir: '/p/envs/x', source: '/c/pixi.toml', channels: ['bioconda'] },
  );
  // A URI is kept as written: init says object storage is not supported yet.
  assert.equal(
    environmentSpecOf(parse({ env_name: 'c', s3_compress_path: 's3://b/e.zst' }), '/c', '/p')
      .source,
    's3://b/e.zst',
  );
  assert.equal(
    environmentSpecOf(parse({ env_name: 'n', package_json_path: 'package.json' }), '/c', '/p').kind,
    'npm',
  );
});

test('bad env_configs: no kind, a name that is no path segment; a misspelt kind is still told', () => {
  assert.equal(envConfigSchema.safeParse({ env_name: 'a' }).success, false);
  assert.equal(
    envConfigSchema.safeParse({ env_name: '../up', requirements_path: 'r' }).success,
    false,
  );
  assert.equal(envConfigBranch({ env_name: 'a', requirement_path: 'r' }), 3);
  assert.equal(envConfigBranch({ env_name: 'a', package_json_path: 'p' }), 4);
  assert.ok(isUri('tos://bucket/x') && !isUri('/local/x.tar') && !isUri('c:x'));
});
