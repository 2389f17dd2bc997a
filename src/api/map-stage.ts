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
  run: MapFunction<ElementOf<OutputOf<S>>, D, Out>,
): Stage<Awaited<Out>[]>;
export function mapStage<
  S extends Stage<readonly (readonly unknown[])[]>,
  Out,
  D extends StageInputs = NoInputs,
>(
  name: string,
  options: MapOptions<D, S> & { nested: true },
  run: MapFunction<ElementOf<ElementOf<OutputOf<S>>>, D, Out>,
): Stage<Awaited<Out>[][]>;
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
