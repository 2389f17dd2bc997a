/** Whether the bundle's inputs (dist/cli/inputs.json unless named) are as they were built. */
export function freshBundle(root: URL, inputs?: string): boolean;
