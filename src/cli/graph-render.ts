import type { ValidPipeline } from '../graph/validate.ts';
import { plural } from './format-text.ts';

export const graphFormats = ['text', 'mermaid', 'dot'] as const;
export type GraphFormat = (typeof graphFormats)[number];

/** The pipeline's graph as text, Mermaid or Graphviz DOT. Pure. */
export function renderGraph(pipeline: ValidPipeline, format: GraphFormat): string {
  switch (format) {
    case 'text':
      return renderText(pipeline);
    case 'mermaid':
      return renderMermaid(pipeline);
    case 'dot':
      return renderDot(pipeline);
  }
}

/**
 * Stages wave by wave (a wave is the set of stages whose longest upstream chain has the same
 * length; `waves` mode runs them level by level), each with what it waits for.
 * @example
 * pipeline 'diamond': 4 stages, 3 waves
 * wave 1
 *   a
 * wave 2
 *   b ← a
 */
function renderText({ spec, graph, stages }: ValidPipeline): string {
  const levels = graph.levels();
  const byLevel: number[][] = [];
  levels.forEach((level, i) => {
    byLevel[level] ??= [];
    byLevel[level].push(i);
  });
  const lines = [
    `pipeline '${spec.name}': ${plural(graph.size, 'stage')}, ${plural(byLevel.length, 'wave')}`,
  ];
  byLevel.forEach((members, level) => {
    lines.push(`wave ${level + 1}`);
    for (const i of members) {
      const upstream = [...graph.upstreamOf(i)].map((d) => graph.names[d]!);
      const fallback = stages[i]!.fallback;
      lines.push(
        `  ${graph.names[i]}${upstream.length > 0 ? ` ← ${upstream.join(', ')}` : ''}${fallback === undefined ? '' : `  (fallback: ${fallback})`}`,
      );
    }
  });
  return `${lines.join('\n')}\n`;
}

/** A Mermaid flowchart; nodes get safe ids (`s0`, `s1`…) and carry the names as quoted labels. */
function renderMermaid({ graph, stages, fallbacks }: ValidPipeline): string {
  const lines = ['flowchart TD'];
  const ids = new Map<string, string>();
  const node = (name: string) => {
    let id = ids.get(name);
    if (id === undefined) {
      id = `s${ids.size}`;
      ids.set(name, id);
      lines.push(`  ${id}["${mermaidLabel(name)}"]`);
    }
    return id;
  };
  for (const i of graph.topologicalOrder()) node(graph.names[i]!);
  for (const name of fallbacks.keys()) node(name);
  for (let i = 0; i < graph.size; i++) {
    for (const d of graph.downstreamOf(i))
      lines.push(`  ${node(graph.names[i]!)} --> ${node(graph.names[d]!)}`);
  }
  stages.forEach((stage) => {
    if (stage.fallback !== undefined)
      lines.push(`  ${node(stage.name)} -.->|fallback| ${node(stage.fallback)}`);
  });
  return `${lines.join('\n')}\n`;
}

/** A Graphviz digraph; every name is a quoted, escaped ID. */
function renderDot({ spec, graph, stages, fallbacks }: ValidPipeline): string {
  const lines = [`digraph ${dotId(spec.name)} {`, '  rankdir=TB;', '  node [shape=box];'];
  for (const i of graph.topologicalOrder()) lines.push(`  ${dotId(graph.names[i]!)};`);
  for (const name of fallbacks.keys()) lines.push(`  ${dotId(name)} [style=dashed];`);
  for (let i = 0; i < graph.size; i++) {
    for (const d of graph.downstreamOf(i))
      lines.push(`  ${dotId(graph.names[i]!)} -> ${dotId(graph.names[d]!)};`);
  }
  for (const stage of stages) {
    if (stage.fallback !== undefined) {
      lines.push(
        `  ${dotId(stage.name)} -> ${dotId(stage.fallback)} [style=dashed, label="fallback"];`,
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid entity codes for the characters a quoted label cannot hold as they are. */
export function mermaidLabel(name: string): string {
  return name
    .replaceAll('#', '#35;')
    .replaceAll('"', '#quot;')
    .replaceAll('<', '#lt;')
    .replaceAll('>', '#gt;')
    .replaceAll('\n', ' ');
}

/** A DOT double-quoted ID: backslashes and quotes escaped, newlines as `\n`. */
export function dotId(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}
