import type { InlineFunction, PipelineSpec, StageSpec } from '../src/graph/pipeline.ts';
/**
 * The DAG shapes every benchmark implementation runs, as plain arrays: stage names and, per
 * stage, the indices of its upstream stages. Deterministic (a fixed-seed PRNG), and indices are
 * already in topological order (every dependency has a smaller index).
 */

export const shapeNames = ['chain-1k', 'fan-1k', 'layered-10k', 'layered-100k'] as const;
export type ShapeName = (typeof shapeNames)[number];

export interface Dag {
  shape: string;
  /** `s0`, `s1`, … by index. */
  names: string[];
  /** Upstream stage indices of each stage, ascending, each below the stage's own index. */
  deps: number[][];
}

/** The seed every layered shape draws from, so that all implementations see the same DAG. */
export const defaultSeed = 0x5eed_2026;

/** layered-100k is 1,000 layers of 100 (the same width as layered-10k, ten times as deep). */
export const layeredShapes: Readonly<Record<string, { layers: number; width: number }>> = {
  'layered-10k': { layers: 100, width: 100 },
  'layered-100k': { layers: 1000, width: 100 },
};

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function namesOf(n: number): string[] {
  const names = new Array<string>(n);
  for (let i = 0; i < n; i++) names[i] = `s${i}`;
  return names;
}

/** `n` stages in a line: each depends on the one before. */
export function chain(n: number, shape = `chain-${n}`): Dag {
  const deps: number[][] = new Array(n);
  for (let i = 0; i < n; i++) deps[i] = i === 0 ? [] : [i - 1];
  return { shape, names: namesOf(n), deps };
}

/** One root, `width` stages that depend on it, and one sink that depends on all of them. */
export function fan(width: number, shape = `fan-${width}`): Dag {
  const n = width + 2;
  const deps: number[][] = new Array(n);
  deps[0] = [];
  for (let i = 1; i <= width; i++) deps[i] = [0];
  const all = new Array<number>(width);
  for (let i = 0; i < width; i++) all[i] = i + 1;
  deps[n - 1] = all;
  return { shape, names: namesOf(n), deps };
}

/**
 * `layers` layers of `width` stages; each stage of layer L > 0 depends on 1–3 distinct stages of
 * layer L − 1, drawn at random. Stage `i` is in layer `floor(i / width)`.
 */
export function layered(
  layers: number,
  width: number,
  seed = defaultSeed,
  shape = `layered-${layers}x${width}`,
): Dag {
  if (width < 3) throw new Error('layered DAGs need a width of at least 3');
  const random = mulberry32(seed);
  const n = layers * width;
  const deps: number[][] = new Array(n);
  for (let i = 0; i < width; i++) deps[i] = [];
  for (let layer = 1; layer < layers; layer++) {
    const previous = (layer - 1) * width;
    for (let w = 0; w < width; w++) {
      const count = 1 + Math.floor(random() * 3);
      const picked: number[] = [];
      while (picked.length < count) {
        const d = previous + Math.floor(random() * width);
        if (!picked.includes(d)) picked.push(d);
      }
      picked.sort((a, b) => a - b);
      deps[layer * width + w] = picked;
    }
  }
  return { shape, names: namesOf(n), deps };
}

export function buildDag(shape: ShapeName | string): Dag {
  if (shape === 'chain-1k') return chain(1000, shape);
  if (shape === 'fan-1k') return fan(1000, shape);
  const layeredShape = layeredShapes[shape];
  if (layeredShape) return layered(layeredShape.layers, layeredShape.width, defaultSeed, shape);
  throw new Error(`unknown DAG shape '${shape}' (known: ${shapeNames.join(', ')})`);
}

export function edgeCount(dag: Dag): number {
  let edges = 0;
  for (const d of dag.deps) edges += d.length;
  return edges;
}

/** The DAG as JSON for the Python peer: `{"shape", "names", "deps"}`. */
export function dagToJson(dag: Dag): string {
  return JSON.stringify({ shape: dag.shape, names: dag.names, deps: dag.deps });
}

/** The DAG as a pipeline: every stage 1 CPU, running what `stage(i)` gives it. */
export function pipelineSpecOf(
  dag: Dag,
  stage: (i: number) => Pick<StageSpec, 'task' | 'run'>,
  maxCpus: number,
): PipelineSpec {
  const stages: StageSpec[] = dag.names.map((name, i) => ({
    name,
    dependsOn: dag.deps[i]!.map((d) => dag.names[d]!),
    cpus: 1,
    ...stage(i),
  }));
  return { name: dag.shape, stages, mode: 'parallel', failurePolicy: 'fail_fast', maxCpus };
}

/** The DAG as a pipeline of in-process stages: stage `i` runs `runOf(i)`. */
export function inlinePipelineOf(
  dag: Dag,
  runOf: (i: number) => InlineFunction,
  maxCpus: number,
): PipelineSpec {
  return pipelineSpecOf(dag, (i) => ({ task: { kind: 'inline' }, run: runOf(i) }), maxCpus);
}
