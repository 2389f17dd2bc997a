import { PipelineError } from '../errors.ts';
import type { StageContext } from '../executors/stage-context.ts';
import {
  baseSpec,
  type InputsOf,
  type NoInputs,
  type Stage,
  type StageInputs,
  type StageOptions,
  upstreamOf,
} from './stage.ts';

/** The output type a stage carries. */
export type OutputOf<S> = S extends Stage<infer O> ? O : never;

/** The element type of a list type. */
export type ElementOf<L> = L extends readonly (infer E)[] ? E : never;

declare const fanOutItem: unique symbol;
declare const fanOutDepth: unique symbol;

/** Index levels of a mapped stage's instances: 1 for `x[i]`, 2 for `x[i][j]`, … */
export type Depth = 1 | 2 | 3 | 4;
type Deeper<N extends Depth> = N extends 1 ? 2 : N extends 2 ? 3 : 4;
/** `T` in `N` levels of lists: what a stage collecting a mapped stage of depth `N` receives. */
export type Nest<T, N extends Depth> = N extends 1
  ? T[]
  : N extends 2
    ? T[][]
    : N extends 3
      ? T[][][]
      : T[][][][];

/**
 * A mapped stage: each instance outputs an `Item`; a stage depending on it receives them
 * collected in `Depth` levels of lists (`Item[]`, or `Item[][]` for `x[i][j]`).
 */
export interface MappedStage<Item, N extends Depth = 1> extends Stage<Nest<Item, N>> {
  /** Carries the item type; never set at run time. */
  readonly [fanOutItem]?: Item;
  readonly [fanOutDepth]?: N;
}

/** What an instance of a stage mapped over `S` (not nested) receives: one item of `S`. */
export type ItemOf<S> =
  IsMapped<S> extends true
    ? Exclude<S[typeof fanOutItem & keyof S], undefined>
    : ElementOf<OutputOf<S>>;

/** The depth of a stage mapped over `S`: `S`'s own, or 1 over an ordinary stage's list. */
export type DepthOver<S> =
  IsMapped<S> extends true ? Extract<S[typeof fanOutDepth & keyof S], Depth> : 1;

/** Whether `S` is a mapped stage: its phantom keys are optional, so their presence says it. */
type IsMapped<S> = typeof fanOutDepth extends keyof S ? true : false;

/** What a mapped stage's function receives: its item, its context, its other inputs. */
export type MapFunction<Item, D extends StageInputs, Out> = (
  item: Item,
  context: StageContext,
  inputs: InputsOf<D>,
) => Out | Promise<Out>;

export interface MapOptions<D extends StageInputs, S extends Stage<readonly unknown[]>>
  extends Omit<StageOptions<D>, 'over' | 'nested'> {
  /**
   * The stage whose items this one is mapped over: each element of an ordinary stage's list,
   * or each instance of a mapped stage (`name[i]` runs as soon as `over[i]` succeeded).
   */
  over: S;
  /**
   * `over` is a mapped stage whose items are lists: one instance per element of each,
   * `name[i][j]`. @default false
   */
  nested?: boolean;
}

/**
 * A mapped stage (dynamic fan-out, SPEC A8): `run` runs once per item of `over`'s output, each
 * as its own stage instance (`resize[0]`, `resize[1]`, …) scheduled, retried, cached, recorded
 * and resumed on its own. An item flows downstream the moment it succeeds: a stage mapped over
 * this one runs its item `i` without waiting for the other items. A stage that depends on it
 * receives all the outputs, in input order, once every item ended. Also `stage.map`.
 * @example
 * const images = stage('images', async () => ['a.png', 'b.png']);
 * const sizes = mapStage('size', { over: images }, async (image) => (await stat(image)).size);
 * const total = stage('total', { deps: { sizes } }, ({ sizes }) => sizes.reduce((a, b) => a + b, 0));
 */
export function mapStage<
  S extends Stage<readonly unknown[]>,
  Out,
  D extends StageInputs = NoInputs,
>(
  name: string,
  options: MapOptions<D, S> & { nested?: false },
  run: MapFunction<ItemOf<S>, D, Out>,
): MappedStage<Awaited<Out>, DepthOver<S>>;
export function mapStage<
  S extends MappedStage<readonly unknown[], Depth>,
  Out,
  D extends StageInputs = NoInputs,
>(
  name: string,
  options: MapOptions<D, S> & { nested: true },
  run: MapFunction<ElementOf<ItemOf<S>>, D, Out>,
): MappedStage<Awaited<Out>, Deeper<DepthOver<S>>>;
export function mapStage<D extends StageInputs, Out>(
  name: string,
  options: MapOptions<D, Stage<readonly unknown[]>>,
  run: MapFunction<never, D, Out>,
): Stage<unknown> {
  if (typeof run !== 'function') {
    throw new PipelineError('INVALID_STAGE', `mapped stage '${name}' needs a function`);
  }
  if (options.over === undefined) {
    throw new PipelineError(
      'INVALID_STAGE',
      `mapped stage '${name}' needs over: the stage to map over`,
    );
  }
  const spec = baseSpec(name, options);
  spec.run = run as never;
  return { name, spec, upstream: upstreamOf(options), companions: [] };
}
