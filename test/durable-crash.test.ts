/**
 * Crash safety (SPEC C2, DESIGN invariant 3): `gpipe run` is killed with SIGKILL after its
 * k-th announced event, for many k, then resumed. A stage whose success was committed must
 * never run again, every stage must end succeeded exactly once, and no output file may be
 * torn or missing. Kill points are chosen by event count, never by sleeping.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import {
  type CliProcess,
  gpipe,
  removeWorkspace,
  startGpipe,
  workspace,
} from './fixtures/cli/harness.ts';

/** Three layers of four stages, each depending on two of the layer above. */
function crashPipeline(): { yaml: string; stages: string[] } {
  const stages: string[] = [];
  const modules: string[] = [];
  for (let layer = 0; layer < 3; layer++) {
    for (let k = 0; k < 4; k++) {
      const name = `s${layer}_${k}`;
      stages.push(name);
      const deps = layer === 0 ? [] : [`s${layer - 1}_${k}`, `s${layer - 1}_${(k + 1) % 4}`];
      modules.push(
        [
          `    - name: ${name}`,
          '      shell: true',
          // Counts its invocation, works a little, then writes its artifact and result.
          `      command: 'echo x >> "$WORKSPACE_ROOT/invocations/$OPERATOR_ID"; sleep 0.1; echo "data $OPERATOR_ID" > "$OUTPUT_ROOT/out.txt"; echo "{\\"stage\\": \\"$OPERATOR_ID\\"}" > "$GP_RESULT_FILE"'`,
          `      depends_on: [${deps.join(', ')}]`,
        ].join('\n'),
      );
    }
  }
  const yaml = `pipeline:\n  name: crash\n  execution:\n    mode: parallel\n  resources:\n    max_cpus: 3\n  modules:\n${modules.join('\n')}\n`;
  return { yaml, stages };
}

function invocations(dir: string, stage: string): number {
  const file = join(dir, 'invocations', stage);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

/** Starts the run and kills it once `lines` events have been announced; true if it was killed. */
async function killAfter(cli: CliProcess, lines: number): Promise<boolean> {
  try {
    await cli.waitFor(`${lines} events`, ({ stdout }) => stdout.split('\n').length > lines);
  } catch {
    return false; // the run ended first
  }
  cli.child.kill('SIGKILL');
  const finished = await cli.finished;
  return finished.signal === 'SIGKILL';
}

/** The stages whose success is committed, and whether the run itself had ended. */
async function committedSuccesses(dir: string): Promise<{ stages: Set<string>; ended: boolean }> {
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  try {
    const [run] = await store.listRuns({ limit: 1 });
    if (!run) return { stages: new Set(), ended: false };
    const attempts = await store.attempts(run.runId);
    const stages = new Set(attempts.filter((a) => a.status === 'succeeded').map((a) => a.stage));
    return { stages, ended: run.status !== 'running' };
  } finally {
    await store.close();
  }
}

async function checkFinished(dir: string, stages: readonly string[]): Promise<void> {
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  try {
    const runs = await store.listRuns();
    assert.equal(runs.length, 1, 'the resume goes on with the same run');
    const run = runs[0]!;
    assert.equal(run.status, 'succeeded');
    const attempts = await store.attempts(run.runId);
    for (const stage of stages) {
      const succeeded = attempts.filter((a) => a.stage === stage && a.status === 'succeeded');
      assert.equal(succeeded.length, 1, `${stage} succeeded exactly once`);
      const output = JSON.parse(readFileSync(join(run.runDir, stage, 'output.json'), 'utf8'));
      assert.equal(output._meta.stage, stage);
      assert.deepEqual(output.data, { stage });
      assert.equal(output._meta.output_hash, succeeded[0]!.outputHash);
      const artifact = readFileSync(join(run.runDir, stage, 'artifacts', 'out.txt'), 'utf8');
      assert.equal(artifact, `data ${stage}\n`);
    }
    for (const file of ['run.json', 'manifest.json']) {
      const parsed = JSON.parse(readFileSync(join(run.runDir, file), 'utf8'));
      assert.equal(parsed.status, 'succeeded', `${file} says the run succeeded`);
    }
    const leftovers = readdirSync(run.runDir).filter((name) => name.includes('.tmp-'));
    assert.deepEqual(leftovers, [], 'a resume clears temporary files a crash left');
  } finally {
    await store.close();
  }
}

describe('kill -9 of gpipe at any point, then resume', () => {
  const { yaml, stages } = crashPipeline();
  // 12 stages make 26 events (run_started, 2 per stage, run_finished): kill after 1 … 22.
  const killPoints = Array.from({ length: 22 }, (_, i) => i + 1);

  it('never runs a committed stage again and ends with every output intact', async () => {
    let kills = 0;
    // Two workspaces at a time: the machine has two cores, and each run mostly waits.
    for (let i = 0; i < killPoints.length; i += 2) {
      const results = await Promise.all(
        killPoints.slice(i, i + 2).map(async (point) => {
          const dir = workspace({ 'pipeline.yaml': yaml });
          mkdirSync(join(dir, 'invocations'));
          try {
            const cli = startGpipe(['run', 'pipeline.yaml', '--json'], dir);
            cli.child.stdin!.end();
            const signalled = await killAfter(cli, point);
            const { stages: committed, ended } = await committedSuccesses(dir);
            // A kill that lands after the run ended (while the process exits) is not mid-run.
            const killed = signalled && !ended;
            const before = new Map(stages.map((s) => [s, invocations(dir, s)]));
            const resumed = await gpipe(['resume', '--json'], dir);
            if (killed)
              assert.equal(
                resumed.code,
                0,
                `resume after kill at event ${point}: ${resumed.stderr}`,
              );
            for (const stage of committed) {
              assert.equal(
                invocations(dir, stage),
                before.get(stage),
                `${stage} was committed before the kill (event ${point}) and must not run again`,
              );
            }
            await checkFinished(dir, stages);
            return killed;
          } finally {
            removeWorkspace(dir);
          }
        }),
      );
      kills += results.filter(Boolean).length;
    }
    assert.ok(kills >= 20, `at least 20 runs were killed mid-way (${kills})`);
  });
});
