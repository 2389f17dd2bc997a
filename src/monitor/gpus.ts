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
  for (const { index, fields } of nvidiaSmiRows(csv)) {
    const [uuid, memory] = fields;
    if (!uuid) continue;
    devices.push({ index, uuid, memoryMb: numberOrZero(memory) });
  }
  return devices.sort((a, b) => a.index - b.index);
}

/** The rows of nvidia-smi's `--format=csv,noheader,nounits`: a device index, then the other fields. */
export function nvidiaSmiRows(csv: string): { index: number; fields: string[] }[] {
  const rows: { index: number; fields: string[] }[] = [];
  for (const line of csv.split('\n')) {
    const [index, ...fields] = line.split(',').map((field) => field.trim());
    if (index && /^\d+$/.test(index)) rows.push({ index: Number(index), fields });
  }
  return rows;
}

/** A number field, or 0 where nvidia-smi writes none ("[N/A]" on devices that do not report it). */
export function numberOrZero(field: string | undefined): number {
  const value = Number(field);
  return field !== undefined && Number.isFinite(value) ? value : 0;
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
