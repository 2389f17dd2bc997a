// Module stages for bench/workers.ts.

export function noop(): null {
  return null;
}

/** A fixed amount of CPU work (not a fixed time): `params.iterations` square roots. */
export function crunch(context: { params: Record<string, unknown> }): number {
  const iterations = Number(context.params.iterations);
  let x = 0;
  for (let i = 0; i < iterations; i++) x += Math.sqrt(i + x);
  return x;
}
