import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapStage } from './map-stage.ts';
import { command, stage } from './stage.ts';

test('a mapped stage depends on what it maps over and keeps its types', () => {
  const images = stage('images', () => ['a.png', 'bb.png']);
  const factor = stage('factor', () => 2);
  const sizes = mapStage('size', { over: images, deps: { factor } }, (image, _context, inputs) => {
    const name: string = image;
    const times: number = inputs.factor;
    return name.length * times;
  });
  const total = stage('total', { deps: { sizes } }, ({ sizes }) => {
    const all: number[] = sizes;
    return all.reduce((a, b) => a + b, 0);
  });
  assert.deepEqual(sizes.spec.fanOut, { over: 'images' });
  assert.deepEqual(sizes.spec.dependsOn, ['factor', 'images']);
  assert.deepEqual(sizes.spec.inputs, { factor: 'factor' });
  assert.deepEqual(total.spec.dependsOn, ['size']);

  const pages = mapStage('pages', { over: images }, (image) => image.split('.'));
  const words = mapStage('words', { over: pages, nested: true }, (word) => {
    const text: string = word;
    return text.length;
  });
  const nested: number[][] = [[1]];
  stage('shape', { deps: { words } }, ({ words }) => {
    const same: number[][] = words;
    return same === nested;
  });
  assert.deepEqual(words.spec.fanOut, { over: 'pages', nested: true });
  // Mapped over a nested stage, one instance per words[i][j]: the item is a number, and a
  // collector gets lists of lists.
  const doubled = mapStage('doubled', { over: words }, (n) => {
    const one: number = n;
    return String(one * 2);
  });
  stage('texts', { deps: { doubled } }, ({ doubled }) => {
    const texts: string[][] = doubled;
    return texts;
  });

  const each = command('each', { over: images, argv: ['true'] });
  assert.deepEqual(each.spec.fanOut, { over: 'images' });
});

test('mapping over a stage whose output is not a list does not compile', () => {
  const one = stage('one', () => 1);
  // @ts-expect-error: 'one' returns a number, not a list
  const each = mapStage('each', { over: one }, (n) => n);
  // Without tsc (plain JavaScript) it fails at run time: NOT_A_LIST (engine-fan-out.test.ts).
  assert.equal(each.spec.fanOut?.over, 'one');
  const flat = stage('flat', () => [1, 2]);
  // @ts-expect-error: nested needs a list of lists
  mapStage('deep', { over: flat, nested: true }, (n) => n);
  assert.throws(() => stage('x', { nested: true }, () => 1), /nested applies only with over/);
});
