import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildDag,
  chain,
  type Dag,
  fan,
  layered,
  layeredShapes,
  mulberry32,
  shapeNames,
} from '../bench/dags.ts';
import { makefileOf, ninjaFileOf } from '../bench/peers/build-files.ts';

/** Every dependency has a smaller index (so index order is topological: no cycle possible), no duplicates. */
function assertAcyclicAndOrdered(dag: Dag): void {
  assert.equal(dag.deps.length, dag.names.length);
  dag.deps.forEach((deps, i) => {
    assert.equal(new Set(deps).size, deps.length, `stage ${i} has a duplicate dependency`);
    for (const d of deps) assert.ok(d >= 0 && d < i, `stage ${i} depends on ${d}`);
  });
  assert.equal(new Set(dag.names).size, dag.names.length);
}

test('shapes have their documented sizes', () => {
  const sizes: Record<string, number> = {
    'chain-1k': 1000,
    'fan-1k': 1002,
    'layered-10k': 10_000,
    'layered-100k': 100_000,
  };
  for (const shape of shapeNames) {
    const dag = buildDag(shape);
    assert.equal(dag.names.length, sizes[shape], shape);
    assertAcyclicAndOrdered(dag);
  }
  assert.throws(() => buildDag('nope'), /unknown DAG shape/);
});

test('chain and fan', () => {
  const c = chain(5);
  assert.deepEqual(c.deps, [[], [0], [1], [2], [3]]);
  const f = fan(3);
  assert.deepEqual(f.deps, [[], [0], [0], [0], [1, 2, 3]]);
});

test('layered: 1–3 distinct dependencies, all in the previous layer', () => {
  for (const shape of ['layered-10k', 'layered-100k']) {
    const { layers, width } = layeredShapes[shape]!;
    const dag = buildDag(shape);
    assertAcyclicAndOrdered(dag);
    const counts = [0, 0, 0, 0];
    dag.deps.forEach((deps, i) => {
      const layer = Math.floor(i / width);
      if (layer === 0) {
        assert.equal(deps.length, 0);
        return;
      }
      assert.ok(deps.length >= 1 && deps.length <= 3, `stage ${i} has ${deps.length} dependencies`);
      counts[deps.length]!++;
      for (const d of deps) assert.equal(Math.floor(d / width), layer - 1, `stage ${i} → ${d}`);
    });
    // Each count is drawn about a third of the time.
    const drawn = (layers - 1) * width;
    for (const k of [1, 2, 3])
      assert.ok(Math.abs(counts[k]! / drawn - 1 / 3) < 0.05, `${k}: ${counts[k]}`);
  }
});

test('deterministic: the same seed gives the same DAG, another seed another', () => {
  assert.deepEqual(buildDag('layered-10k'), buildDag('layered-10k'));
  assert.deepEqual(layered(20, 10, 7), layered(20, 10, 7));
  assert.notDeepEqual(layered(20, 10, 7).deps, layered(20, 10, 8).deps);
  const a = mulberry32(1);
  const b = mulberry32(1);
  for (let i = 0; i < 100; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
});

test('the Makefile and build.ninja hold every stage and edge once', () => {
  const dag = layered(4, 5, 3);
  const make = makefileOf(dag);
  const ninja = ninjaFileOf(dag);
  for (let i = 0; i < dag.names.length; i++) {
    const deps = dag.deps[i]!.map((d) => dag.names[d]).join(' ');
    assert.ok(make.includes(`\n${dag.names[i]}:${deps ? ` ${deps}` : ''}\n\t@true\n`), `make ${i}`);
    assert.ok(
      ninja.includes(`\nbuild ${dag.names[i]}: t${deps ? ` | ${deps}` : ''}\n`),
      `ninja ${i}`,
    );
  }
});
