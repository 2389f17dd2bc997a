// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text, not templates
// Generated overrides and --set arguments, malformed in every way the generator can think of,
// through the real CLI entry (in this process): never a stack trace, never an internal error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { stringify as toToml } from 'smol-toml';
import { stringify as toYaml } from 'yaml';
import { mulberry32 } from '../bench/dags.ts';
import type { CliIo } from '../src/cli/cli-io.ts';
import { main } from '../src/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'gpipe-override-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'pipeline.yaml'),
  [
    'pipeline:',
    '  name: fuzz',
    '  modules:',
    '    - {name: load, command: [echo, "${GREETING:-hi}"]}',
    '    - {name: train, command: [echo], depends_on: [load], env: {A: "1"}}',
  ].join('\n'),
);

const keys = [
  'polluted',
  'pipeline',
  'modules',
  'load',
  'train',
  'tarin',
  '0',
  '7',
  'execution',
  'mode',
  'env',
  'timeout',
  'name',
  'resources',
  'max_cpus',
  'depends_on',
  'command',
  'params',
  '',
  'a.b',
  '__proto__',
  'constructor',
];
const strings = [
  '${GREETING}',
  '${UNSET_FUZZ}',
  '${UNSET_FUZZ:-d}',
  '$${x}',
  '${',
  '${1x}',
  'base64://',
  'base64://aGk=',
  'base64://!!',
  'base64:////79',
  'sequential',
  '5m',
  '-1',
  '',
  '$(touch pwned)',
  '`x`;y',
];

function value(next: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const kind = Math.floor(next() * (depth > 3 ? 4 : 7));
  if (kind === 0) return pick(strings);
  if (kind === 1) return Math.floor(next() * 2000) - 1000;
  if (kind === 2) return next() < 0.5;
  if (kind === 3) return next() * 10;
  if (kind === 4)
    return Array.from({ length: Math.floor(next() * 3) }, () => value(next, depth + 1));
  const table: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 4); i > 0; i--) {
    // defineProperty: a key named __proto__ is written out as a key.
    Object.defineProperty(table, pick(keys), {
      value: value(next, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return table;
}

function silentIo(): CliIo & { text: () => string } {
  let text = '';
  const sink = () =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
  return { stdout: sink(), stderr: sink(), cwd: dir, env: { GREETING: 'hello' }, text: () => text };
}

test('500 generated overrides and --set arguments: exit 0, 1 or 2 with a message, never a crash', async () => {
  const next = mulberry32(20261201);
  const codes = new Map<number, number>();
  for (let i = 0; i < 500; i++) {
    const args = ['validate', 'pipeline.yaml'];
    const override = { pipeline: value(next, 1) };
    const format = next() < 0.5 ? 'yaml' : 'toml';
    let text: string;
    try {
      text = format === 'yaml' ? toYaml(override) : toToml(override);
    } catch {
      text = '[pipeline\nbroken = ';
    }
    if (next() < 0.2) text = text.slice(0, Math.floor(next() * text.length)); // cut anywhere
    writeFileSync(join(dir, `o${i}.${format}`), text);
    args.push('--override', `o${i}.${format}`);
    if (next() < 0.6) {
      const path = Array.from(
        { length: 1 + Math.floor(next() * 4) },
        () => keys[Math.floor(next() * keys.length)],
      );
      args.push('--set', `${path.join('.')}=${JSON.stringify(value(next, 3)) ?? 'x'}`);
    }
    const io = silentIo();
    const code = await main(['node', 'gpipe', ...args], io);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    const output = io.text();
    assert.ok([0, 1, 2].includes(code), `exit ${code} for ${args.join(' ')}:\n${text}\n${output}`);
    assert.ok(
      !/internal error|\n\s+at /.test(output),
      `a crash for ${args.join(' ')}:\n${text}\n${output}`,
    );
    if (code !== 0) assert.ok(output.trim().length > 0, `exit ${code} without a message`);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was changed');
  // The generator reaches all three outcomes, or it tests too little.
  assert.deepEqual([...codes.keys()].sort(), [0, 1, 2], JSON.stringify([...codes]));
});
