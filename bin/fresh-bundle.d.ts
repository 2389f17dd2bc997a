/** Whether the CLI bundle under `root` (a file URL ending in `/`) matches the files it was built from. */
export function freshBundle(root: URL): boolean;
