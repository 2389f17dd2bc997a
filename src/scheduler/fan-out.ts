import type { FanOutSpec } from './fan-out-table.ts';
import { FanOutTable } from './fan-out-table.ts';
import {
  CANCELLED,
  FAILED,
  FIRST_TERMINAL,
  isSuccess,
  MAPPING,
  PENDING,
  SUCCEEDED,
  severity,
  UPSTREAM_FAILED,
} from './node-states.ts';

/** What the fan-out rules need of the scheduler's node states. */
export interface FanOutHost {
  state(node: number): number;
  setState(node: number, state: number): void;
  /** A node was appended: it needs a state slot and its template's rank. */
  added(node: number, template: number): void;
  makeReady(node: number): void;
  terminate(node: number, code: number): void;
  /** A stage of the graph ended with `code`: its downstream learns it. */
  propagate(stage: number, code: number, changed: number[]): void;
  /** fail_fast: the run must stop once the current call is done. */
  requestStop(): void;
  stopping(): boolean;
}

/**
 * The rules of dynamic fan-out (SPEC A8) over the scheduler's node states: instances are made
 * as the lists they map over become known, an instance's end reaches the instances mapped over
 * it and its mapped stage, and a mapped stage ends once no item can come and every instance
 * ended — succeeded when all did; failed when one failed (at once under fail_fast, once its
 * siblings ended under collect_all); upstream_failed when its inputs failed.
 */
export class FanOut {
  readonly #table: FanOutTable;
  readonly #host: FanOutHost;
  readonly #failFast: boolean;
  readonly #listLength: (node: number) => number;
  readonly #onMapped: ((template: number, over: number, items: number) => void) | undefined;

  constructor(
    templates: number,
    spec: FanOutSpec,
    host: FanOutHost,
    options: {
      failFast: boolean;
      listLength?: (node: number) => number;
      onMapped?: (template: number, over: number, items: number) => void;
    },
  ) {
    this.#table = new FanOutTable(templates, spec);
    this.#host = host;
    this.#failFast = options.failFast;
    this.#listLength = options.listLength ?? (() => -1);
    this.#onMapped = options.onMapped;
  }

  /** The fan-out rules of a run, or undefined when no stage is mapped. */
  static create(
    templates: number,
    options: {
      fanOut?: FanOutSpec;
      failurePolicy: string;
      listLength?: (node: number) => number;
      onMapped?: (template: number, over: number, items: number) => void;
    },
    host: FanOutHost,
  ): FanOut | undefined {
    const spec = options.fanOut;
    if (!spec) return undefined;
    let anyMapped = false;
    for (let i = 0; i < templates && !anyMapped; i++) anyMapped = (spec.over[i] ?? -1) >= 0;
    if (!anyMapped) return undefined;
    return new FanOut(templates, spec, host, {
      failFast: options.failurePolicy === 'fail_fast',
      ...(options.listLength && { listLength: options.listLength }),
      ...(options.onMapped && { onMapped: options.onMapped }),
    });
  }

  get table(): FanOutTable {
    return this.#table;
  }

  /**
   * Sets mapped stage `template` up before the run: `waiting` of its dependencies have not
   * succeeded; a source finished before the run (a resume) fans out now.
   */
  begin(template: number, waiting: number, sourceDone: boolean, changed: number[]): void {
    const fan = this.#table;
    fan.otherPending[template] = waiting - (sourceDone ? 0 : 1);
    if (!sourceDone) return;
    const source = fan.over[template]!;
    if (fan.isMapped(source) || fan.nested[template]) {
      throw new Error(`mapped stage ${source} cannot be finished before the run`);
    }
    this.expandList(template, source, changed);
    fan.sourceEnded[template] = 1;
    fan.sourceOk[template] = 1;
    this.settleAndPropagate(template, changed);
  }

  /**
   * Stage `x` of the graph, a dependency of mapped stage `d`, ended with `code`. Returns the
   * code `d` ended with in turn, or 0 while it goes on.
   */
  upstreamEnded(d: number, x: number, code: number, changed: number[]): number {
    const fan = this.#table;
    const ok = isSuccess(code);
    const downCode = code === CANCELLED ? CANCELLED : UPSTREAM_FAILED;
    if (fan.over[d] === x) {
      if (ok && !fan.isMapped(x)) this.expandList(d, x, changed);
      fan.sourceEnded[d] = 1;
      if (ok) fan.sourceOk[d] = 1;
      else this.#worsen(d, downCode);
    } else if (ok) {
      if (--fan.otherPending[d]! === 0) this.#unpark(d);
    } else {
      this.#doom(d, downCode, changed);
    }
    // Under fail_fast the run stops anyway: the stage's fate is known, say it now.
    return !ok && this.#failFast ? this.#terminateNow(d, downCode) : this.#settle(d);
  }

  /** Stages mapped over an ordinary stage: one instance per element of its output list. */
  expandList(template: number, source: number, changed: number[]): void {
    const length = this.#listLength(source) ?? -1;
    if (length < 0) {
      this.#notAList(template, source, changed);
      return;
    }
    this.#announce(template, source, length);
    for (let k = 0; k < length; k++) this.#instantiate(template, source, k, changed);
  }

  /**
   * `template` gets `items` instances from `over`'s list, and so does each stage mapped over it
   * item by item (one instance per instance of `template`), down the chain.
   */
  #announce(template: number, over: number, items: number): void {
    if (!this.#onMapped) return;
    this.#onMapped(template, over, items);
    for (const next of this.#table.mappedBy[template] ?? []) {
      if (!this.#table.nested[next]) this.#announce(next, template, items);
    }
  }

  /** The source's output is not a list: the mapped stage fails (at once under fail_fast). */
  #notAList(template: number, source: number, changed: number[]): void {
    const fan = this.#table;
    if (fan.notAList[template]! < 0) fan.notAList[template] = source;
    this.#worsen(template, FAILED);
    if (!this.#failFast) return; // it fails once it settles
    this.#host.requestStop();
    if (this.#host.state(template) < FIRST_TERMINAL) {
      this.#host.terminate(template, FAILED);
      changed.push(template);
      this.#host.propagate(template, FAILED, changed);
    }
  }

  /**
   * Appends an instance of `template` for item `index` of `parent`'s output (-1: all of it);
   * `endedWith` makes it terminal at once (the instance after a failed item).
   */
  #instantiate(
    template: number,
    parent: number,
    index: number,
    changed: number[],
    endedWith = 0,
  ): void {
    const fan = this.#table;
    const node = fan.add(template, parent, index);
    this.#host.added(node, template);
    const state = this.#host.state(template);
    if (state === PENDING) this.#host.setState(template, MAPPING);
    if (this.#host.stopping() || state === CANCELLED) {
      this.#endAtOnce(node, CANCELLED, changed);
    } else if (endedWith !== 0) {
      this.#endAtOnce(node, endedWith, changed);
    } else if (fan.doomed[template] || state >= FIRST_TERMINAL) {
      this.#endAtOnce(node, fan.doomed[template] || UPSTREAM_FAILED, changed);
    } else if (fan.otherPending[template]! > 0) {
      fan.parked[template] ??= [];
      fan.parked[template].push(node);
    } else {
      this.#host.makeReady(node);
    }
  }

  /** An instance that cannot run: terminal at once, and so are the instances that follow it. */
  #endAtOnce(node: number, code: number, changed: number[]): void {
    this.#host.terminate(node, code);
    changed.push(node);
    this.instanceEnded(node, code, changed);
  }

  /** An instance ended: instances over it are made (or cannot run), its mapped stage may end. */
  instanceEnded(node: number, code: number, changed: number[]): void {
    const fan = this.#table;
    const template = fan.templateOf(node);
    const ok = isSuccess(code);
    const followers = fan.mappedBy[template];
    if (followers) {
      for (const next of followers) {
        if (!ok) {
          // The instance after a failed item cannot run; a nested one's count is unknown.
          const after = code === CANCELLED ? CANCELLED : UPSTREAM_FAILED;
          if (!fan.nested[next]) this.#instantiate(next, node, -1, changed, after);
          continue;
        }
        if (!fan.nested[next]) {
          this.#instantiate(next, node, -1, changed);
          continue;
        }
        const length = this.#listLength(node) ?? -1;
        if (length < 0) {
          this.#notAList(next, node, changed);
          continue;
        }
        this.#announce(next, node, length);
        for (let k = 0; k < length; k++) this.#instantiate(next, node, k, changed);
      }
    }
    fan.live[template]!--;
    if (!ok) {
      this.#worsen(template, code);
      if (code === FAILED && this.#failFast) {
        if (this.#host.state(template) < FIRST_TERMINAL) {
          this.#host.terminate(template, FAILED);
          changed.push(template);
          this.#host.propagate(template, FAILED, changed);
        }
        return;
      }
    }
    const ended = this.#settle(template);
    if (ended) {
      changed.push(template);
      this.#host.propagate(template, ended, changed);
    }
  }

  /** Records the worst end among a mapped stage's instances and inputs. */
  #worsen(template: number, code: number): void {
    const fan = this.#table;
    if (severity(code) > severity(fan.worst[template]!)) fan.worst[template] = code;
  }

  /** A dependency other than the source failed: no instance of `template` may run any more. */
  #doom(template: number, code: number, changed: number[]): void {
    const fan = this.#table;
    if (!fan.doomed[template]) fan.doomed[template] = code;
    this.#worsen(template, code);
    const parked = fan.parked[template];
    fan.parked[template] = undefined;
    if (parked) for (const node of parked) this.#endAtOnce(node, code, changed);
  }

  #unpark(template: number): void {
    const fan = this.#table;
    const parked = fan.parked[template];
    fan.parked[template] = undefined;
    if (parked) for (const node of parked) this.#host.makeReady(node);
  }

  /**
   * Ends a mapped stage once no item can come and every instance ended; returns the code it
   * ended with, or 0 while it goes on (or had ended already).
   */
  #settle(template: number): number {
    const fan = this.#table;
    const state = this.#host.state(template);
    if (state !== PENDING && state !== MAPPING) return 0;
    if (!fan.sourceEnded[template] || fan.live[template]! > 0) return 0;
    const worst = fan.worst[template]!;
    let code: number;
    if (worst !== 0) code = worst;
    else if (fan.doomed[template]) code = fan.doomed[template]!;
    else if (!fan.sourceOk[template]) code = UPSTREAM_FAILED;
    else if (fan.otherPending[template]! > 0)
      return 0; // an empty list still waits for its inputs
    else code = SUCCEEDED;
    if (code === SUCCEEDED && this.#host.stopping()) code = CANCELLED;
    this.#host.terminate(template, code);
    return code;
  }

  #terminateNow(template: number, code: number): number {
    if (this.#host.state(template) >= FIRST_TERMINAL) return 0;
    this.#host.terminate(template, code);
    return code;
  }

  /** Settles what `#propagate` found ended and carries it on. */
  settleAndPropagate(template: number, changed: number[]): void {
    const ended = this.#settle(template);
    if (ended) {
      changed.push(template);
      this.#host.propagate(template, ended, changed);
    }
  }
}
