import { randomBytes } from 'node:crypto';

/** A run id that sorts by local start time, like `20261122_101500_ab12cd`. */
export function newRunId(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${date}_${time}_${randomBytes(3).toString('hex')}`;
}
