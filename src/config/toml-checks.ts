/**
 * The rules of a TOML pipeline that span files, checked on the merged raw data so that they
 * are reported even where the schema finds other problems: ids match their refs, a node's
 * operators are listed, each operator runs in one node, dependencies are operators that run,
 * limits are not below requests.
 */
import { didYouMean } from '../graph/did-you-mean.ts';
import type { TomlPath } from './toml-locator.ts';
import type { NodeConfig } from './toml-schema.ts';
import { isTable, type RawTomlPipeline } from './toml-sources.ts';
import type { PathIssue } from './zod-issues.ts';

/** Which node runs each operator, in node order then operator order. */
export function nodeOfOperators(raw: RawTomlPipeline): Map<string, string> {
  const nodeOf = new Map<string, string>();
  for (const [nodeId, node] of Object.entries(raw.data.nodes)) {
    for (const operator of stringsAt(node, 'operator_ids')) {
      if (operator.value in raw.data.operators && !nodeOf.has(operator.value))
        nodeOf.set(operator.value, nodeId);
    }
  }
  return nodeOf;
}

export function crossFileIssues(raw: RawTomlPipeline): PathIssue[] {
  const issues: PathIssue[] = [];
  const { nodes, operators } = raw.data;
  const operatorIds = Object.keys(operators);
  for (const [kind, idKey] of [
    ['nodes', 'node_id'],
    ['operators', 'operator_id'],
  ] as const) {
    for (const [id, value] of Object.entries(raw.data[kind])) {
      const written = isTable(value) ? value[idKey] : undefined;
      if (typeof written === 'string' && written !== id) {
        issues.push({
          path: [kind, id, idKey],
          message: `${idKey} '${written}' is not the id its ref names ('${id}')`,
          hint: `set ${idKey} = "${id}", or change the ref in pipeline.toml`,
        });
      }
    }
  }

  const nodeOf = new Map<string, string>();
  for (const [nodeId, node] of Object.entries(nodes)) {
    for (const { value: operator, index } of stringsAt(node, 'operator_ids')) {
      const path: TomlPath = ['nodes', nodeId, 'operator_ids', index];
      if (!(operator in operators)) {
        issues.push({
          path,
          message: `operator '${operator}' is not one of the pipeline's operators`,
          hint:
            didYouMean(operator, operatorIds) ??
            `add "${operator}:<version>" to operators in pipeline.toml`,
        });
      } else if (nodeOf.has(operator)) {
        issues.push({
          path,
          message: `operator '${operator}' already runs in node '${nodeOf.get(operator)}'`,
          hint: 'an operator runs in one node; list it in one operator_ids',
        });
      } else {
        nodeOf.set(operator, nodeId);
      }
    }
    const resource = isTable(node) ? node.resource : undefined;
    for (const kind of ['cpu', 'memory', 'gpu'] as const) {
      const request = isTable(resource) ? resource[`${kind}_request`] : undefined;
      const limit = isTable(resource) ? resource[`${kind}_limit`] : undefined;
      if (typeof request === 'number' && typeof limit === 'number' && limit < request) {
        issues.push({
          path: ['nodes', nodeId, 'resource', `${kind}_limit`],
          message: `${kind}_limit ${limit} is below ${kind}_request ${request}`,
          hint: `raise ${kind}_limit to at least ${request}`,
        });
      }
    }
  }

  for (const [operatorId, operator] of Object.entries(operators)) {
    for (const { value: dep, index } of stringsAt(operator, 'upstream_dependencies')) {
      const path: TomlPath = ['operators', operatorId, 'upstream_dependencies', index];
      if (!(dep in operators)) {
        issues.push({
          path,
          message: `depends on '${dep}', which is not one of the pipeline's operators`,
          hint:
            didYouMean(dep, operatorIds) ?? `add "${dep}:<version>" to operators in pipeline.toml`,
        });
      } else if (!nodeOf.has(dep) && nodeOf.has(operatorId)) {
        issues.push({
          path,
          message: `depends on '${dep}', which no node runs`,
          hint: `add '${dep}' to the operator_ids of a node`,
        });
      }
    }
  }
  return issues;
}

/** The strings of the list `key` of a table, with their places in the list. */
export function stringsAt(table: unknown, key: string): { value: string; index: number }[] {
  const list = isTable(table) ? table[key] : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((value, index) => (typeof value === 'string' ? [{ value, index }] : []));
}

/**
 * The well-formed requests of a raw node's resource table, for the graph check: a value the
 * schema rejects is the schema's to report, so the check sees no request there.
 */
export function resourceTableOf(node: unknown): NodeConfig['resource'] {
  const resource = isTable(node) ? node.resource : undefined;
  const table: Record<string, number> = { cpu_request: 0 };
  if (!isTable(resource)) return table as NodeConfig['resource'];
  for (const [key, value] of Object.entries(resource)) {
    const whole = key.startsWith('gpu_') ? Number.isInteger(value) : true;
    if (typeof value === 'number' && value >= 0 && Number.isFinite(value) && whole)
      table[key] = value;
  }
  return table as NodeConfig['resource'];
}
