/**
 * `init` for one operator (SPEC D1): its `git_repo` checked out at `git_tag` (a tag or a
 * commit) into its code directory, by spawning git with an argv — never a shell. Run again, it
 * finds the checkout at the right commit and does nothing; a changed tag is checked out anew.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OperatorCheckout } from '../config/toml-stages.ts';
import { PipelineError } from '../errors.ts';

export type CheckoutAction = 'cloned' | 'checked-out' | 'up-to-date';

export interface CheckoutOutcome {
  action: CheckoutAction;
  commit: string;
  /** The commit the checkout was at before, when it moved. */
  previous?: string;
}

/** git failed, or is missing: an environment error (exit 5) naming the operator. */
export class GitError extends PipelineError {
  constructor(operatorId: string, message: string) {
    super('ENV_GIT_FAILED', `operator '${operatorId}': ${message}`);
  }
}

/** Brings one operator's code directory to its tag. `cwd` is where a relative git_repo starts. */
export async function checkoutOperator(
  operator: OperatorCheckout,
  cwd: string,
): Promise<CheckoutOutcome> {
  const run = (args: readonly string[], where = cwd) => git(operator.operatorId, args, where);
  if (!existsSync(operator.codeDir)) return cloneInto(operator, cwd);

  const inside = await run(['rev-parse', '--is-inside-work-tree'], operator.codeDir).catch(
    () => '',
  );
  const top =
    inside === 'true' ? await run(['rev-parse', '--show-toplevel'], operator.codeDir) : '';
  if (top === '' || !samePath(top, operator.codeDir)) {
    throw new GitError(
      operator.operatorId,
      `${operator.codeDir} exists but is not a git checkout: move it away and run init again`,
    );
  }
  const origin = await run(['remote', 'get-url', 'origin'], operator.codeDir).catch(
    () => undefined,
  );
  if (origin !== operator.gitRepo) {
    // The repository changed in the config: follow it.
    await run(
      ['remote', origin === undefined ? 'add' : 'set-url', 'origin', operator.gitRepo],
      operator.codeDir,
    );
    await fetchTags(operator, cwd);
  }
  const head = await run(['rev-parse', 'HEAD'], operator.codeDir).catch(() => '');
  let commit = await resolveTag(operator, operator.codeDir);
  if (commit === undefined) {
    // A tag made after the clone.
    await fetchTags(operator, cwd);
    commit = await resolveTag(operator, operator.codeDir);
  }
  if (commit === undefined) throw noSuchTag(operator);
  if (commit === head) return { action: 'up-to-date', commit };
  await run(
    ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit],
    operator.codeDir,
  );
  return { action: 'checked-out', commit, ...(head !== '' && { previous: head }) };
}

/** A fresh clone, made beside its place and moved there once at the tag. */
async function cloneInto(operator: OperatorCheckout, cwd: string): Promise<CheckoutOutcome> {
  const temporary = `${operator.codeDir}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(dirname(operator.codeDir), { recursive: true });
  try {
    await git(
      operator.operatorId,
      ['clone', '--quiet', '--no-checkout', '--', operator.gitRepo, temporary],
      cwd,
    );
    const commit = await resolveTag(operator, temporary);
    if (commit === undefined) throw noSuchTag(operator);
    await git(
      operator.operatorId,
      ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit],
      temporary,
    );
    try {
      await rename(temporary, operator.codeDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another init put it there meanwhile: check that one instead.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return checkoutOperator(operator, cwd);
      throw error;
    }
    return { action: 'cloned', commit };
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

async function fetchTags(operator: OperatorCheckout, cwd: string): Promise<void> {
  await git(
    operator.operatorId,
    ['-C', operator.codeDir, 'fetch', '--quiet', '--tags', 'origin'],
    cwd,
  );
}

/** The commit `git_tag` names in the repository at `dir`, if it names one. */
async function resolveTag(operator: OperatorCheckout, dir: string): Promise<string | undefined> {
  return git(
    operator.operatorId,
    ['rev-parse', '--verify', '--quiet', `${operator.gitTag}^{commit}`],
    dir,
  ).catch(() => undefined);
}

function noSuchTag(operator: OperatorCheckout): GitError {
  return new GitError(
    operator.operatorId,
    `no tag or commit '${operator.gitTag}' in ${operator.gitRepo}`,
  );
}

function samePath(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

const gitVerbs: ReadonlySet<string> = new Set([
  'clone',
  'checkout',
  'fetch',
  'rev-parse',
  'remote',
]);

/** Runs git; its trimmed stdout, or a GitError with the first line git wrote on stderr. */
function git(operatorId: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      // Never wait on a password prompt: a repository that needs one fails at once.
      { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout.trim());
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          const why = existsSync(cwd)
            ? 'git is not installed: init needs it to fetch operator code'
            : `no directory ${cwd} to run git in`;
          reject(new GitError(operatorId, why));
          return;
        }
        const verb = args.find((arg) => gitVerbs.has(arg)) ?? 'git';
        const first = stderr.split('\n').find((line) => line.trim() !== '') ?? error.message;
        reject(new GitError(operatorId, `git ${verb} failed: ${first.trim()}`));
      },
    );
  });
}
