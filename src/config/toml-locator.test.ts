import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { TomlLocator } from './toml-locator.ts';

/** The document as lines, so that positions read off the test; checked to be valid TOML. */
function locator(lines: readonly string[]): TomlLocator {
  const text = `${lines.join('\n')}\n`;
  parse(text);
  return new TomlLocator(text);
}

test('values under table headers, dotted keys and quoted keys are found where written', () => {
  const at = locator([
    '# a comment', //                       1
    'pipeline_id = "p"', //                 2
    '[node_1]', //                          3
    'node_id = "node_1"  # trailing', //    4
    'operator_ids = ["a", \'b\', "c"]', //  5
    '[node_1.resource]', //                 6
    '  cpu_request = 2.0', //               7
    'a.b."c.d" = 1979-05-27 07:32:00', //   8
  ]);
  assert.deepStrictEqual(at.at(['pipeline_id']), { line: 2, column: 15 });
  assert.deepStrictEqual(at.keyAt([], 'pipeline_id'), { line: 2, column: 1 });
  assert.deepStrictEqual(at.at(['node_1']), { line: 3, column: 1 });
  assert.deepStrictEqual(at.at(['node_1', 'node_id']), { line: 4, column: 11 });
  assert.deepStrictEqual(at.at(['node_1', 'operator_ids', 0]), { line: 5, column: 17 });
  assert.deepStrictEqual(at.at(['node_1', 'operator_ids', 1]), { line: 5, column: 22 });
  assert.deepStrictEqual(at.at(['node_1', 'operator_ids', 2]), { line: 5, column: 27 });
  assert.deepStrictEqual(at.at(['node_1', 'resource', 'cpu_request']), { line: 7, column: 17 });
  assert.deepStrictEqual(at.keyAt(['node_1', 'resource'], 'cpu_request'), { line: 7, column: 3 });
  assert.deepStrictEqual(at.at(['node_1', 'resource', 'a', 'b', 'c.d']), { line: 8, column: 13 });
  assert.deepStrictEqual(at.keyAt(['node_1', 'resource', 'a'], 'b'), { line: 8, column: 3 });
});

test('a path that is not written gives its nearest written ancestor', () => {
  const at = locator(['[cleaner]', 'operator_id = "cleaner"', '', '[cleaner.env_config]', 'x = 1']);
  // A key missing from [cleaner.env_config]: the header.
  assert.deepStrictEqual(at.at(['cleaner', 'env_config', 'env_name']), { line: 4, column: 1 });
  assert.deepStrictEqual(at.keyAt(['cleaner', 'env_config'], 'env_name'), { line: 4, column: 1 });
  // Below a scalar: the scalar's key.
  assert.deepStrictEqual(at.at(['cleaner', 'operator_id', 'deeper']), { line: 2, column: 1 });
  assert.deepStrictEqual(at.at(['nowhere']), { line: 1, column: 1 });
});

test('multi-line strings, arrays and inline tables do not throw the scan off', () => {
  const at = locator([
    'start_command = """', //                    1
    'echo "[not.a.table]" \\"""', //             2
    'x = 1', //                                  3
    '"""', //                                    4
    "literal = '''a ''' ", //                    5
    'deps = [', //                               6
    '  "one", # first', //                       7
    '  [1, 2],', //                              8
    '  { k = "v", n.m = [3] },', //              9
    ']', //                                      10
    'env = { A = "}", B = "\\"" }', //           11
    'after = true', //                           12
    '[[runs]]', //                               13
    'n = 1', //                                  14
    '[[runs]]', //                               15
    'n = 2', //                                  16
  ]);
  assert.deepStrictEqual(at.at(['start_command']), { line: 1, column: 17 });
  assert.deepStrictEqual(at.at(['x']), { line: 1, column: 1 }, 'x is inside the string');
  assert.deepStrictEqual(at.at(['literal']), { line: 5, column: 11 });
  assert.deepStrictEqual(at.at(['deps', 0]), { line: 7, column: 3 });
  assert.deepStrictEqual(at.at(['deps', 1, 1]), { line: 8, column: 7 });
  assert.deepStrictEqual(at.at(['deps', 2, 'k']), { line: 9, column: 9 });
  assert.deepStrictEqual(at.at(['deps', 2, 'n', 'm', 0]), { line: 9, column: 21 });
  assert.deepStrictEqual(at.at(['env', 'B']), { line: 11, column: 22 });
  assert.deepStrictEqual(at.at(['after']), { line: 12, column: 9 });
  assert.deepStrictEqual(at.at(['runs', 1, 'n']), { line: 16, column: 5 });
  assert.deepStrictEqual(at.at(['runs', 0]), { line: 13, column: 1 });
});
