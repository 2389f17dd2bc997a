/**
 * GPU detection through `nvidia-smi` (the interface NOTES.md names). No binary, a failing or
 * hanging one, or output we cannot read all mean no GPUs, quietly: most hosts have none.
 */
import { execFile } from 'node:child_process';

export interface GpuDevice {
  /** nvidia-smi's index: what CUDA_VISIBLE_DEVICES names with CUDA_DEVICE_ORDER=PCI_BUS_ID. */
  index: number;
  uuid: string;
  memoryMb: number;
}

export const nvidiaSmiArgs = [
  '--query-gpu=index,uuid,memory.total',
  '--format=csv,noheader,nounits',
] as const;

/** Lines of `index, uuid, memory.total` (MiB); lines that do not parse are left out. */
export function parseNvidiaSmiGpus(csv: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  for (const line of csv.split('\n')) {
    const [index, uuid, memory] = line.split(',').map((field) => field.trim());
    if (!index || !/^\d+$/.test(index) || !uuid) continue;
    const memoryMb = Number(memory);
    devices.push({
      index: Number(index),
      uuid,
      memoryMb: Number.isFinite(memoryMb) ? memoryMb : 0,
    });
  }
  return devices.sort((a, b) => a.index - b.index);
}

/**
 * Keeps the devices a `CUDA_VISIBLE_DEVICES` value already set for the orchestrator allows
 * (by index or UUID, as CUDA reads it): a pipeline started on GPUs 2,3 leases only those.
 * Unset: all of them; empty: none.
 */
export function visibleGpus(
  devices: readonly GpuDevice[],
  visible: string | undefined,
): GpuDevice[] {
  if (visible === undefined) return [...devices];
  const wanted = visible
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return devices.filter((device) =>
    wanted.some((entry) =>
      /^\d+$/.test(entry) ? Number(entry) === device.index : device.uuid.startsWith(entry),
    ),
  );
}

/** The GPUs `nvidia-smi` lists (found on PATH); none when it is missing or fails. */
export function detectGpus(
  options: { command?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<GpuDevice[]> {
  return new Promise((resolve) => {
    execFile(
      options.command ?? 'nvidia-smi',
      nvidiaSmiArgs,
      { timeout: options.timeoutMs ?? 10_000, env: options.env ?? process.env, encoding: 'utf8' },
      (error, stdout) => resolve(error ? [] : parseNvidiaSmiGpus(stdout)),
    );
  });
}
