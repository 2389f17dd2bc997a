import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { loadTomlPipeline } from '../src/config/toml-pipeline.ts';
import { ConfigError, formatIssue } from '../src/errors.ts';
import {
  project,
  seedNodeToml,
  seedOperatorToml,
  seedPipelineToml,
} from './fixtures/toml/toml-project.ts';

/** The lines a failed load reports, files relative to the project; every issue is placed. */
async function problems(files: Record<string, string>, hostCpus = 8): Promise<string[]> {
  const dir = project(files);
  const error = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
    projectRoot: dir,
    hostCpus,
    hostMemoryMb: 16 * 1024,
    hostGpuIds: [],
  }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error.issues.map((issue) => {
    assert.ok(issue.file && issue.line && issue.column, `unplaced: ${formatIssue(issue)}`);
    return formatIssue({ ...issue, file: relative(dir, issue.file) });
  });
}

const seed = {
  'conf/pipeline.toml': seedPipelineToml,
  'conf/nodes/node_1_v1.0.toml': seedNodeToml,
  'conf/operators/cleaner_v2.0.toml': seedOperatorToml('/repo'),
};

/** The seed's files with one line of one file replaced. */
function seedWith(file: keyof typeof seed, from: string, to: string): Record<string, string> {
  assert.ok(seed[file].includes(from), `${from} is in ${file}`);
  return { ...seed, [file]: seed[file].replace(from, to) };
}

test('a syntax error in pipeline.toml: its line and column, and nothing else', async () => {
  assert.deepStrictEqual(
    await problems(seedWith('conf/pipeline.toml', 'name = "数据处理产线"', 'name = 数据')),
    [
      'conf/pipeline.toml:3:8: invalid TOML: invalid value (hint: strings need quotes: key = "value")',
    ],
  );
});

test('syntax errors in node and operator files are reported together, with the rest', async () => {
  const files = {
    ...seedWith('conf/pipeline.toml', 'level = "INFO"', 'level = "LOUD"'),
    'conf/nodes/node_1_v1.0.toml': `${seedNodeToml}gpu_request = 1\n`,
    'conf/operators/cleaner_v2.0.toml': seedOperatorToml('/repo').replace(
      'timeout = 1800',
      'timeout = [1800',
    ),
  };
  assert.deepStrictEqual(await problems(files), [
    'conf/pipeline.toml:7:9: pipeline.log_config.level must be one of TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL, got "LOUD"',
    'conf/nodes/node_1_v1.0.toml:12:1: invalid TOML: trying to redefine an already defined table or value (hint: a key or table may be defined only once)',
    // The array opened on line 7 runs on until the parser meets what cannot be in it.
    'conf/operators/cleaner_v2.0.toml:9:1: invalid TOML: expected comma or end of structure',
  ]);
});

test('unknown keys say what was meant; wrong types say what they must be', async () => {
  const files = {
    ...seed,
    'conf/nodes/node_1_v1.0.toml': seedNodeToml.replace(
      'runner_count = 1',
      'runer_count = 1\ncpu_request = 2',
    ),
    'conf/operators/cleaner_v2.0.toml': seedOperatorToml('/repo')
      .replace('timeout = 1800', 'timeout = "soon"')
      .replace('start_command', 'start_comand')
      .replace('upstream_dependencies = []', 'upstream_dependencies = "none"')
      .replace('pyproject_path', 'pyproject_pth'),
  };
  assert.deepStrictEqual(await problems(files), [
    "conf/nodes/node_1_v1.0.toml:4:1: unknown key 'runer_count' in [node_1] (hint: did you mean 'runner_count'?)",
    "conf/nodes/node_1_v1.0.toml:5:1: unknown key 'cpu_request' in [node_1] (hint: it belongs in the table [resource]: resource.cpu_request = ...)",
    "conf/operators/cleaner_v2.0.toml:1:1: missing required key 'start_command' in [cleaner]",
    'conf/operators/cleaner_v2.0.toml:5:25: cleaner.upstream_dependencies must be a list, got "none" (hint: write a list: [none])',
    "conf/operators/cleaner_v2.0.toml:6:1: unknown key 'start_comand' in [cleaner] (hint: did you mean 'start_command'?)",
    'conf/operators/cleaner_v2.0.toml:7:11: cleaner.timeout must be a positive number of seconds or a duration like "90s", "5m" or "1h30m", got "soon"',
    "conf/operators/cleaner_v2.0.toml:12:1: missing required key 'pyproject_path' in [cleaner.env_config]",
    "conf/operators/cleaner_v2.0.toml:14:1: unknown key 'pyproject_pth' in [cleaner.env_config] (hint: did you mean 'pyproject_path'?)",
  ]);
});

test('a ref without its file names every path tried; references across files are checked', async () => {
  const files = {
    ...seedWith(
      'conf/pipeline.toml',
      'refs = ["cleaner:v2.0"]',
      'refs = ["cleaner:v2.0", "dedup:v3", "cleaner"]',
    ),
    'conf/nodes/node_1_v1.0.toml': seedNodeToml.replace(
      'operator_ids = ["cleaner"]',
      'operator_ids = ["cleaner", "cleanr"]',
    ),
    'conf/operators/cleaner_v2.0.toml': seedOperatorToml('/repo').replace(
      'upstream_dependencies = []',
      'upstream_dependencies = ["cleaner", "loader"]',
    ),
  };
  const dir = 'conf/operators';
  const lines = await problems(files);
  assert.deepStrictEqual(
    lines.map((line) => line.replace(/\/tmp\/gpipe-toml-project-\w+\//g, '')),
    [
      `conf/pipeline.toml:15:25: no file for operator 'dedup:v3': tried ${dir}/dedup_v3.toml, ${dir}/dedup.toml (hint: check the ref, or give the directory holding operators/ with --config-root)`,
      "conf/pipeline.toml:15:37: operator 'cleaner' is listed twice (hint: keep one ref to cleaner)",
      "conf/nodes/node_1_v1.0.toml:3:28: operator 'cleanr' is not one of the pipeline's operators (hint: did you mean 'cleaner'?)",
      "conf/operators/cleaner_v2.0.toml:5:37: depends on 'loader', which is not one of the pipeline's operators (hint: add \"loader:<version>\" to operators in pipeline.toml)",
      "conf/operators/cleaner_v2.0.toml:5:26: operator 'cleaner' depends on itself",
    ].sort(byPlace),
  );
});

/** Issue lines in the loader's order: pipeline.toml first, then by file, line and column. */
function byPlace(a: string, b: string): number {
  const key = (line: string) => {
    const [file, row, column] = line.split(':');
    return [file === 'conf/pipeline.toml' ? '' : file!, Number(row), Number(column)] as const;
  };
  const [fa, ra, ca] = key(a);
  const [fb, rb, cb] = key(b);
  return fa.localeCompare(fb) || ra - rb || ca - cb;
}

test('cycles, ids that differ from their refs, requests no machine grants, limits below requests', async () => {
  const files = {
    'conf/pipeline.toml': 'pipeline_id = "p"\nname = "P"\nnodes = ["n"]\noperators = ["a", "b"]\n',
    'conf/nodes/n.toml': [
      'node_id = "m"',
      'operator_ids = ["a", "b"]',
      '[resource]',
      'cpu_request = 16',
      'cpu_limit = 4',
      'gpu_request = 1',
      'memory_request = 32.0',
      '',
    ].join('\n'),
    'conf/operators/a.toml':
      'git_repo = "r"\ngit_tag = "-x"\nstart_command = "a"\nupstream_dependencies = ["b"]\n',
    'conf/operators/b.toml':
      'operator_id = "bee"\ngit_repo = "r"\ngit_tag = "t"\nstart_command = "b"\nupstream_dependencies = ["a"]\n',
  };
  assert.deepStrictEqual(await problems(files, 8), [
    "conf/nodes/n.toml:1:11: node_id 'm' is not the id its ref names ('n') (hint: set node_id = \"n\", or change the ref in pipeline.toml)",
    "conf/nodes/n.toml:4:15: node 'n' requests more CPUs than this machine's 8 (hint: lower cpu_request to at most 8)",
    'conf/nodes/n.toml:5:13: cpu_limit 4 is below cpu_request 16 (hint: raise cpu_limit to at least 16)',
    "conf/nodes/n.toml:6:15: node 'n' requests 1 GPU but this host has none (hostGpuIds) (hint: lower gpu_request)",
    "conf/nodes/n.toml:7:18: node 'n' reserves 32 GB of memory but the pipeline has at most 16 GB (the host's memory) (hint: lower memory_request)",
    'conf/operators/a.toml:2:11: git_tag must not start with \'-\', got "-x"',
    "conf/operators/a.toml:4:26: operator 'a' dependency cycle: a → b → a (hint: remove one of these dependencies)",
    "conf/operators/b.toml:1:15: operator_id 'bee' is not the id its ref names ('b') (hint: set operator_id = \"b\", or change the ref in pipeline.toml)",
  ]);
});

test('a file wrapped in a table named after another id, and bad refs', async () => {
  const files = {
    ...seedWith(
      'conf/pipeline.toml',
      'refs = ["node_1:v1.0"]',
      'refs = ["node_1:v1.0", "../etc:v1", 7]',
    ),
    'conf/nodes/node_1_v1.0.toml': seedNodeToml.replaceAll('[node_1', '[node_one'),
  };
  assert.deepStrictEqual(await problems(files), [
    'conf/pipeline.toml:12:24: pipeline.nodes.refs[1] must be a ref "id:version" (or "id" for version v1.0), without spaces or slashes, got "../etc:v1"',
    'conf/pipeline.toml:12:37: pipeline.nodes.refs[2] must be a ref "id:version", or a table { node_id = "id", version = "v1.0" }, got 7',
    "conf/nodes/node_1_v1.0.toml:1:1: the table [node_one] is not named after the node 'node_1' (hint: name it [node_1], or write its keys at the top of the file)",
  ]);
});

test('keys written above the table a file is wrapped in are outside it', async () => {
  const files = { ...seed, 'conf/nodes/node_1_v1.0.toml': `runner_count = 2\n${seedNodeToml}` };
  assert.deepStrictEqual(await problems(files), [
    "conf/nodes/node_1_v1.0.toml:1:1: key 'runner_count' is outside the table [node_1] (hint: move it below [node_1], or write every key at the top of the file)",
  ]);
});
