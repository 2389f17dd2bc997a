import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph as build, graphOf } from '../../test/fixtures/scheduler/graph-of.ts';

test('edges are stored both ways', () => {
  const g = graphOf([
    ['a', []],
    ['b', ['a']],
    ['c', ['a']],
    ['d', ['b', 'c']],
  ]);
  assert.deepEqual([...g.upstreamOf(3)], [1, 2]);
  assert.deepEqual([...g.downstreamOf(0)], [1, 2]);
  assert.deepEqual([...g.levels()], [0, 1, 1, 2]);
  assert.deepEqual([...g.topologicalOrder()], [0, 1, 2, 3]);
});

test('critical path counts the longest path to a sink', () => {
  const g = graphOf([
    ['long1', []],
    ['long2', ['long1']],
    ['long3', ['long2']],
    ['short', []],
  ]);
  assert.deepEqual([...g.criticalPath()], [3, 2, 1, 1]);
  assert.deepEqual([...g.criticalPath((i) => (i === 3 ? 10 : 1))], [3, 2, 1, 10]);
});

test('a cycle is reported as its path, in data-flow order', () => {
  const built = build([
    ['a', ['c']],
    ['b', ['a']],
    ['c', ['b']],
    ['ok', []],
  ]);
  assert.ok(!('graph' in built));
  assert.equal(built.issues.length, 1);
  assert.equal(built.issues[0]!.message, 'dependency cycle: a → b → c → a');
});

test('every problem is reported at once', () => {
  const built = build([
    ['load', []],
    ['load', []],
    ['clean', ['lod']],
    ['self', ['self']],
  ]);
  assert.ok(!('graph' in built));
  assert.deepEqual(
    built.issues.map((i) => [i.stage, i.message, i.hint]),
    [
      ['load', "duplicate name 'load'", 'stage names must be unique'],
      ['clean', "depends on unknown stage 'lod'", "did you mean 'load'?"],
      ['self', 'depends on itself', undefined],
    ],
  );
});

test('descendants walks the whole downstream', () => {
  const g = graphOf([
    ['a', []],
    ['b', ['a']],
    ['c', ['b']],
    ['x', []],
  ]);
  assert.deepEqual([...g.descendants([0])].sort(), [1, 2]);
  assert.equal(g.descendants([3]).size, 0);
});
