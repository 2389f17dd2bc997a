import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pythonExportParts } from './python-blocks.ts';

/** All the export's code in one text: its own, then each definition it reaches. */
function pythonExportText(source: string, name: string): string | undefined {
  const parts = pythonExportParts(source, name);
  return parts && [parts.own, ...parts.definitions.values()].join('\n');
}

const module = `"""Stages."""
import json
from helpers import scale  # noqa

FACTOR = 3


def _fmt(x):
    return f"{x:.2f}"

# A comment between definitions.

@register(
    name="train",
)
def train(context):
    # a comment in the body
    text = """
def evaluate():
    pass
"""
    return scale(FACTOR) + len(f"{_fmt(1)}") + len(text)


class Model:
    def run(self, context):
        return _weights()


def _weights():
    return [1, 2]


async def evaluate(context):
    return json.dumps(context)

if __name__ == "__main__":
    train(None)
`;

/** The statements of `text` by their first line (lines in a triple-quoted string are not). */
function heads(text: string | undefined): string[] {
  assert.ok(text !== undefined);
  let inString = false;
  const found: string[] = [];
  for (const line of text.split('\n')) {
    if (!inString && /^[^\s)]/.test(line)) found.push(line);
    if (line.split('"""').length % 2 === 0) inString = !inString;
  }
  return found;
}

const moduleCode = [
  '"""Stages."""',
  'import json',
  'from helpers import scale  # noqa',
  'FACTOR = 3',
];

describe('pythonExportText: what one export of a Python module is made of', () => {
  test('its definition with its decorators, the definitions it names (in f-strings too), and all module-level code', () => {
    const parts = pythonExportParts(module, 'train')!;
    assert.deepEqual(heads(parts.own), [...moduleCode, '@register(', 'def train(context):']);
    assert.deepEqual([...parts.definitions.keys()], ['_fmt']);
    assert.deepEqual(heads(parts.definitions.get('_fmt')), ['def _fmt(x):']);
    // A definition inside a string is text, not a statement.
    assert.match(pythonExportText(module, 'train')!, /^def evaluate\(\):$/m);
  });

  test('a class brings what its methods name; an async function its own lines alone', () => {
    assert.deepEqual(heads(pythonExportText(module, 'Model')), [
      ...moduleCode,
      'class Model:',
      'def _weights():',
    ]);
    assert.deepEqual(heads(pythonExportText(module, 'evaluate')), [
      ...moduleCode,
      'async def evaluate(context):',
    ]);
  });

  test("comments and blank lines are no one's code; an edit of another definition leaves the text as it was", () => {
    const text = pythonExportText(module, 'evaluate');
    const edited = module
      .replace('# a comment in the body', '# another comment')
      .replace('# A comment between definitions.', '')
      .replace('return [1, 2]', 'return [3]')
      .replace('"{x:.2f}"', '"{x:.3f}"');
    assert.equal(pythonExportText(edited, 'evaluate'), text);
    assert.notEqual(pythonExportText(edited, 'Model'), pythonExportText(module, 'Model'));
    assert.notEqual(pythonExportText(edited, 'train'), pythonExportText(module, 'train'));
    assert.equal(
      pythonExportText(edited.replace('    # another comment\n', ''), 'train'),
      pythonExportText(edited, 'train'),
    );
  });

  test('names looked up at run time, or source it cannot split, give up: the whole file counts', () => {
    assert.equal(
      pythonExportText('def run(c):\n    return globals()["helper"]()\n', 'run'),
      undefined,
    );
    assert.equal(pythonExportText('def run(c):\n    return eval("1")\n', 'run'), undefined);
    assert.equal(
      pythonExportText('import sys\ndef run(c):\n    return sys.modules[__name__].h()\n', 'run'),
      undefined,
    );
    assert.equal(pythonExportText('def run(c):\n    return (1,\n', 'run'), undefined);
    assert.equal(pythonExportText('def run(c):\n    return """open\n', 'run'), undefined);
    assert.equal(pythonExportText('@dangling\n', 'run'), undefined);
    // globals() in a function the export does not use is no matter.
    assert.equal(
      pythonExportText('def run(c):\n    return 1\n\ndef other():\n    return globals()\n', 'run'),
      'def run(c):\n    return 1',
    );
  });

  test("a definition decorated by the module's own decorator counts: it may be registered, then found by name", () => {
    const source = [
      'import functools',
      'HANDLERS = {}',
      'def register(f):',
      '    HANDLERS[f.__name__] = f',
      '    return f',
      '@register',
      'def double(x):',
      '    return 2 * x',
      '@functools.lru_cache',
      'def unused(x):',
      '    return x',
      'def run(context):',
      '    return HANDLERS[context.params["handler"]](2)',
    ].join('\n');
    const parts = pythonExportParts(source, 'run')!;
    assert.deepEqual([...parts.definitions.keys()], ['register', 'double']);
    const edited = pythonExportParts(source.replace('2 * x', '3 * x'), 'run')!;
    assert.notEqual(edited.definitions.get('double'), parts.definitions.get('double'));
    assert.deepEqual(pythonExportParts(source.replace('return x', 'return -x'), 'run'), parts);
  });

  test('a main guard never runs on import: left out, unless it has an else', () => {
    const guarded =
      'def run(c):\n    return 1\n\ndef main():\n    pass\n\nif __name__ == "__main__":\n    main()\n';
    assert.equal(pythonExportText(guarded, 'run'), 'def run(c):\n    return 1');
    const withElse = `${guarded}else:\n    main()\n`;
    assert.match(pythonExportText(withElse, 'run')!, /^def main\(\):$/m);
  });

  test('a line continued by a backslash or inside brackets is one statement', () => {
    const source = 'X = 1 + \\\n2\nY = (\n3)\ndef run(c):\n    return X + Y\n';
    assert.equal(pythonExportText(source, 'run'), source.trimEnd());
  });
});
