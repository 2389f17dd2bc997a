import * as z from 'zod';

/**
 * The keys the object schema at `path` inside `schema` accepts, for "did you mean" hints on
 * unknown keys; through a union, the keys of every branch. Undefined where there is no object.
 */
export function schemaKeysAt(
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
): readonly string[] | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodUnion) {
    const found = inner.options.flatMap((option) => schemaKeysAt(option, path) ?? []);
    return found.length > 0 ? [...new Set(found)] : undefined;
  }
  if (path.length === 0) return inner instanceof z.ZodObject ? Object.keys(inner.shape) : undefined;
  const [step, ...rest] = path;
  if (inner instanceof z.ZodObject) {
    const next: z.core.$ZodType | undefined = inner.shape[String(step)];
    return next ? schemaKeysAt(next, rest) : undefined;
  }
  if (inner instanceof z.ZodArray) return schemaKeysAt(inner.element, rest);
  if (inner instanceof z.ZodRecord) return schemaKeysAt(inner.valueType, rest);
  return undefined;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap();
  return inner;
}
