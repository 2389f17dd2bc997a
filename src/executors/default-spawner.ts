import { accessSync, constants } from 'node:fs';
import { NativeSpawner, nativeHelperPath } from './native-spawner.ts';
import { NodeSpawner, type Spawner } from './spawner.ts';

/**
 * The native spawner when its helper was built (at `npm install`), else Node's child_process.
 * `GP_SPAWNER=node` forces Node's; `GP_SPAWNER=native` insists on the helper.
 */
export function createDefaultSpawner(env: NodeJS.ProcessEnv = process.env): Spawner {
  const choice = env.GP_SPAWNER;
  if (choice === 'node') return new NodeSpawner();
  if (isExecutable(nativeHelperPath)) return new NativeSpawner();
  if (choice === 'native') {
    throw new Error(
      `GP_SPAWNER=native, but ${nativeHelperPath} is not built: run npm run build:native`,
    );
  }
  return new NodeSpawner();
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
