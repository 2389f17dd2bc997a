/**
 * `init` with real git repositories in temp dirs: clone at a tag or commit, nothing to do when
 * already there, a new checkout when the tag changes, clear exit-5 errors for a bad repo or tag.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OperatorCheckout } from '../src/config/toml-stages.ts';
import { checkoutOperator, GitError } from '../src/init/git-checkout.ts';
import { gpipe } from './fixtures/cli/harness.ts';
import {
  git,
  operatorRepo,
  pythonEnv,
  seedProject,
  tempDir,
} from './fixtures/toml/toml-project.ts';

function versions(): string {
  return operatorRepo({
    v1: { VERSION: '1\n' },
    v2: { VERSION: '2\n' },
  });
}

function operator(repo: string, tag: string, root: string): OperatorCheckout {
  return { operatorId: 'op', gitRepo: repo, gitTag: tag, codeDir: join(root, 'operators', 'op') };
}

const version = (checkout: OperatorCheckout) =>
  readFileSync(join(checkout.codeDir, 'VERSION'), 'utf8');

test('clone at a tag; again: nothing to do; a changed tag or a commit: checked out anew', async () => {
  const repo = versions();
  const root = tempDir();
  const first = await checkoutOperator(operator(repo, 'v1', root), root);
  assert.equal(first.action, 'cloned');
  assert.equal(first.commit, git(repo, 'rev-parse', 'v1^{commit}'));
  assert.equal(version(operator(repo, 'v1', root)), '1\n');

  const again = await checkoutOperator(operator(repo, 'v1', root), root);
  assert.deepStrictEqual(again, { action: 'up-to-date', commit: first.commit });

  const moved = await checkoutOperator(operator(repo, 'v2', root), root);
  assert.deepStrictEqual(moved, {
    action: 'checked-out',
    commit: git(repo, 'rev-parse', 'v2^{commit}'),
    previous: first.commit,
  });
  assert.equal(version(operator(repo, 'v2', root)), '2\n');

  // A commit, abbreviated, works as a tag does.
  const back = await checkoutOperator(operator(repo, first.commit.slice(0, 8), root), root);
  assert.equal(back.action, 'checked-out');
  assert.equal(version(operator(repo, 'v1', root)), '1\n');
});

test('a tag made after the clone is fetched', async () => {
  const repo = versions();
  const root = tempDir();
  await checkoutOperator(operator(repo, 'v1', root), root);
  writeFileSync(join(repo, 'VERSION'), '3\n');
  git(repo, 'commit', '--quiet', '-am', 'three');
  git(repo, 'tag', 'v3');
  const outcome = await checkoutOperator(operator(repo, 'v3', root), root);
  assert.equal(outcome.action, 'checked-out');
  assert.equal(version(operator(repo, 'v3', root)), '3\n');
});

test('a bad tag, a bad repository, a directory that is no checkout: GitError, nothing left behind', async () => {
  const repo = versions();
  const root = tempDir();
  await assert.rejects(checkoutOperator(operator(repo, 'v9', root), root), (error: unknown) => {
    assert.ok(error instanceof GitError);
    assert.equal(error.code, 'ENV_GIT_FAILED');
    assert.equal(error.message, `operator 'op': no tag or commit 'v9' in ${repo}`);
    return true;
  });
  assert.deepStrictEqual(readdirSync(join(root, 'operators')), [], 'no clone left half-made');

  const missing = join(root, 'no-such-repo');
  await assert.rejects(checkoutOperator(operator(missing, 'v1', root), root), {
    name: 'GitError',
    message: `operator 'op': git clone failed: fatal: repository '${missing}' does not exist`,
  });

  const plain = operator(repo, 'v1', tempDir());
  mkdirSync(plain.codeDir, { recursive: true });
  await assert.rejects(checkoutOperator(plain, root), {
    message: `operator 'op': ${plain.codeDir} exists but is not a git checkout: move it away and run init again`,
  });
});

test('run inits first; run --skip-init without init says what to do; a bad tag is exit 5', async () => {
  const env = pythonEnv();
  const { dir } = seedProject();
  const skipped = await gpipe(['run', '-c', 'conf/pipeline.toml', '--skip-init'], dir, env);
  assert.equal(skipped.code, 5);
  assert.equal(
    skipped.stderr,
    "gpipe: operator 'cleaner' has no code in operators/cleaner: run 'gpipe init conf/pipeline.toml' first (or run without --skip-init)\n",
  );

  const run = await gpipe(['run', 'conf/pipeline.toml'], dir, env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^cleaner: cloned .* at v2\.0\.0/m);
  const init = await gpipe(['init', 'conf/pipeline.toml'], dir, env);
  assert.match(init.stdout, /^cleaner: operators\/cleaner is at v2\.0\.0 \(\w+\) already$/m);

  const file = join(dir, 'conf', 'operators', 'cleaner_v2.0.toml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('git_tag = "v2.0.0"', 'git_tag = "v2.1.0"'),
  );
  const moved = await gpipe(['init', '-c', 'conf/pipeline.toml'], dir, env);
  assert.match(
    moved.stdout,
    /^cleaner: checked out v2\.1\.0 \(\w+\) in operators\/cleaner, was \w+$/m,
  );
  assert.equal(readFileSync(join(dir, 'operators', 'cleaner', 'VERSION'), 'utf8'), '2.1.0\n');

  writeFileSync(file, readFileSync(file, 'utf8').replace('git_tag = "v2.1.0"', 'git_tag = "v7"'));
  const bad = await gpipe(['run', 'conf/pipeline.toml'], dir, env);
  assert.equal(bad.code, 5);
  assert.match(bad.stderr, /^gpipe: operator 'cleaner': no tag or commit 'v7' in \/.*\n$/);
  assert.ok(existsSync(join(dir, 'operators', 'cleaner')), 'the checkout there stays');

  // A YAML pipeline has no operator code: init makes its environments alone (none here).
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    'pipeline:\n  name: y\n  modules:\n    - {name: a, command: [true]}\n',
  );
  const yaml = await gpipe(['init', 'pipeline.yaml', '--config-root', 'conf'], dir, env);
  assert.equal(yaml.code, 2);
  assert.match(yaml.stderr, /--config-root applies to TOML pipelines only/);
  const yamlInit = await gpipe(['init', 'pipeline.yaml'], dir, env);
  assert.equal(yamlInit.code, 0, yamlInit.stderr);
  assert.equal(yamlInit.stdout, "initialised pipeline 'y': 0 environment(s)\n");
});
