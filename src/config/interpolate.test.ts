// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text, not templates
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type InterpolationError, interpolate } from './interpolate.ts';

const env = { HOME_DIR: '/home/a', EMPTY: '', N: '3' };

test('${VAR} is replaced and the variables used are named', () => {
  assert.deepEqual(interpolate('${HOME_DIR}/data-${N}', env), {
    text: '/home/a/data-3',
    used: ['HOME_DIR', 'N'],
  });
});

test('${VAR:-default}: the default when unset or empty, the value otherwise', () => {
  assert.equal(interpolate('${MISSING:-/tmp}', env).text, '/tmp');
  assert.equal(interpolate('${EMPTY:-fallback}', env).text, 'fallback');
  assert.equal(interpolate('${N:-9}', env).text, '3');
  assert.equal(interpolate('${MISSING:-}', env).text, '');
  assert.equal(interpolate('${EMPTY}', env).text, '', 'set but empty, no default: empty');
});

test('$${ writes a literal ${; $VAR without braces and lone $ stay as written', () => {
  assert.equal(interpolate('cost $${N} and $N and 5$', env).text, 'cost ${N} and $N and 5$');
  assert.equal(interpolate('$${N}${N}', env).text, '${N}3');
});

test('an unset variable without default, a malformed or unclosed reference: errors that say how', () => {
  assert.throws(
    () => interpolate('x ${NOPE} y', env),
    (error: InterpolationError) =>
      error.message === "environment variable 'NOPE' is not set" &&
      error.hint === 'set it, or give a default: ${NOPE:-value}',
  );
  assert.throws(() => interpolate('${1BAD}', env), /'\$\{1BAD\}' is not a variable reference/);
  assert.throws(() => interpolate('${A B}', env), /is not a variable reference/);
  assert.throws(() => interpolate('${HOME_DIR', env), /unclosed '\$\{'/);
});

test('a value is inserted as data: a ${…} inside it is not expanded again', () => {
  assert.equal(interpolate('${V}', { V: '${N}$(touch x)' }).text, '${N}$(touch x)');
});
