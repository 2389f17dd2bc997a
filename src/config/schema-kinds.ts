/** The kinds of pipeline file `gpipe schema` prints a JSON Schema for. */
export const schemaKinds = ['yaml', 'toml-pipeline', 'toml-node', 'toml-operator'] as const;
export type SchemaKind = (typeof schemaKinds)[number];
