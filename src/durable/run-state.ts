import type { AttemptState, EventRecord, RunRecord } from '../store/run-store.ts';
import { isAlive } from './run-lookup.ts';

/** One stage of a run as `gpipe status` shows it. */
export interface StageState {
  stage: string;
  /** A stage status, or `interrupted`: it was running when its orchestrator died. */
  status: string;
  /** Attempts made (started), across resumes. */
  attempts: number;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number;
  errorCode?: string;
  errorMessage?: string;
  /** What ran it: inline, module, command, cache, reuse. */
  executor?: string;
  /** The run whose output it reused. */
  reusedFrom?: string;
}

/**
 * The state of every stage of a run, derived from its events (the history) and its attempts
 * (the details of each try): DESIGN invariant 4. The last stage event and the latest attempt
 * of each stage are enough (RunStore.lastStageEvents, latestAttempts); more gives the same.
 */
export function stageStates(
  run: RunRecord,
  events: readonly EventRecord[],
  attempts: readonly AttemptState[],
): StageState[] {
  const states = new Map<string, StageState>();
  for (const stage of run.stages) states.set(stage, { stage, status: 'pending', attempts: 0 });
  const stateOf = (stage: string) => {
    let state = states.get(stage);
    if (!state) {
      state = { stage, status: 'pending', attempts: 0 };
      states.set(stage, state);
    }
    return state;
  };
  for (const event of events) {
    if (event.stage === undefined) continue;
    const state = stateOf(event.stage);
    const attempt = event.attempt ?? 0;
    if (event.type === 'stage_started') {
      state.status = 'running';
      state.attempts = Math.max(state.attempts, attempt);
      state.startedAt = event.ts;
      delete state.endedAt;
    } else if (event.type === 'stage_finished') {
      state.status = String(event.data?.status ?? state.status);
      state.attempts = Math.max(state.attempts, attempt);
      state.endedAt = event.ts;
    }
  }
  const lastAttempt = new Map<string, AttemptState>();
  for (const attempt of attempts) {
    const seen = lastAttempt.get(attempt.stage);
    if (!seen || seen.attempt <= attempt.attempt) lastAttempt.set(attempt.stage, attempt);
  }
  for (const [stage, attempt] of lastAttempt) {
    const state = stateOf(stage);
    // Details belong to the attempt the status is about, not to an older one before a retry.
    if (attempt.attempt < state.attempts && state.status === 'running') continue;
    state.startedAt = attempt.startedAt;
    if (attempt.endedAt !== undefined) state.endedAt = attempt.endedAt;
    if (attempt.exitCode !== undefined) state.exitCode = attempt.exitCode;
    if (attempt.errorCode !== undefined) state.errorCode = attempt.errorCode;
    if (attempt.errorMessage !== undefined) state.errorMessage = attempt.errorMessage;
    state.executor = attempt.executor;
    if (attempt.reusedFrom !== undefined) state.reusedFrom = attempt.reusedFrom;
  }
  const dead = run.status !== 'running' || !isAlive(run);
  const result = withInstancesUnderStages([...states.values()]);
  if (dead)
    for (const state of result) if (state.status === 'running') state.status = 'interrupted';
  return result;
}

/**
 * Each fan-out instance (`resize[3]`, `words[3][1]`) right after its mapped stage, in index
 * order; every other stage where it was.
 */
function withInstancesUnderStages(states: StageState[]): StageState[] {
  const instances = new Map<string, { state: StageState; index: number[] }[]>();
  const names = new Set(states.map((state) => state.stage));
  const plain: StageState[] = [];
  for (const state of states) {
    const bracket = state.stage.indexOf('[');
    const template = bracket > 0 ? state.stage.slice(0, bracket) : undefined;
    if (template === undefined || !names.has(template)) {
      plain.push(state);
      continue;
    }
    const index = state.stage
      .slice(bracket + 1, -1)
      .split('][')
      .map(Number);
    const list = instances.get(template) ?? [];
    if (list.length === 0) instances.set(template, list);
    list.push({ state, index });
  }
  if (instances.size === 0) return states;
  const ordered: StageState[] = [];
  for (const state of plain) {
    ordered.push(state);
    const list = instances.get(state.stage);
    if (!list) continue;
    list.sort((a, b) => compareIndex(a.index, b.index));
    for (const entry of list) ordered.push(entry.state);
  }
  return ordered;
}

function compareIndex(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) {
    if (a[k] !== b[k]) return a[k]! - b[k]!;
  }
  return a.length - b.length;
}
