import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EnvironmentKind } from '../graph/pipeline.ts';
import {
  activationVariables,
  environmentPrefix,
  environmentPython,
} from './environment-activation.ts';

const spec = (kind: EnvironmentKind) => ({ name: 'e', kind, dir: '/p/envs/e', source: '/s' });

test('each kind is activated as its own activate script would', () => {
  for (const kind of ['venv', 'uv'] as const) {
    assert.deepStrictEqual(activationVariables(spec(kind), '/usr/bin:/bin'), {
      VIRTUAL_ENV: '/p/envs/e',
      PATH: '/p/envs/e/bin:/usr/bin:/bin',
    });
  }
  assert.deepStrictEqual(activationVariables(spec('conda'), '/usr/bin'), {
    CONDA_PREFIX: '/p/envs/e',
    CONDA_DEFAULT_ENV: 'e',
    PATH: '/p/envs/e/bin:/usr/bin',
  });
  assert.deepStrictEqual(activationVariables(spec('pixi'), undefined), {
    CONDA_PREFIX: '/p/envs/e/.pixi/envs/default',
    CONDA_DEFAULT_ENV: 'e',
    PATH: '/p/envs/e/.pixi/envs/default/bin',
  });
  assert.deepStrictEqual(activationVariables(spec('npm'), '/bin'), {
    NODE_PATH: '/p/envs/e/node_modules',
    PATH: '/p/envs/e/node_modules/.bin:/bin',
  });
});

test("an environment's prefix and python", () => {
  assert.equal(environmentPrefix(spec('venv')), '/p/envs/e');
  assert.equal(environmentPython(spec('pixi')), '/p/envs/e/.pixi/envs/default/bin/python');
});
