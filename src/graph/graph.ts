import { UsageError } from '../errors.js';
import { checkExplicitOnly } from '../task.js';
import { closestName } from '../util/closest-name.js';

/** The part of a task the analyzer needs: its name and what it depends on. */
export interface GraphNode {
  name: string;
  dependencies: readonly string[];
}

/**
 * Checks the whole graph and returns the tasks needed for `requested` in dependency order (each once,
 * dependencies before dependents, otherwise in the order asked). Unknown tasks, unknown dependencies
 * and cycles are rejected before anything runs; a cycle is named as a path: `a -> b -> a`.
 */
export function analyzeGraph<T extends GraphNode>(nodes: readonly T[], requested: readonly string[]): T[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const names = [...byName.keys()];
  for (const name of requested) {
    if (!byName.has(name)) {
      const suggestion = closestName(name, names);
      throw new UsageError('UNKNOWN_TASK', `Unknown task "${name}"${suggestion ? `. Did you mean "${suggestion}"?` : ''}`, {
        hint: `Tasks: ${names.join(', ')}. Run \`pipe --help\` for descriptions.`,
      });
    }
  }
  for (const node of nodes) {
    for (const dep of node.dependencies) {
      if (!byName.has(dep)) {
        const suggestion = closestName(dep, names);
        throw new UsageError('UNKNOWN_DEPENDENCY', `Task "${node.name}" depends on unknown task "${dep}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
          hint: 'Fix the dependencies in pipeline.config.ts.',
        });
      }
    }
  }
  checkExplicitOnly(nodes);
  const order = (roots: readonly string[]): T[] => {
    const state = new Map<string, 'visiting' | 'done'>();
    const out: T[] = [];
    const visit = (name: string, stack: string[]): void => {
      const seen = state.get(name);
      if (seen === 'done') return;
      if (seen === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(name)), name];
        throw new UsageError('CYCLE', `Dependency cycle: ${cycle.join(' -> ')}`, { hint: 'Remove one of these dependencies in pipeline.config.ts.' });
      }
      state.set(name, 'visiting');
      for (const dep of byName.get(name)!.dependencies) visit(dep, [...stack, name]);
      state.set(name, 'done');
      out.push(byName.get(name)!);
    };
    for (const name of roots) visit(name, []);
    return out;
  };
  // The requested tasks first, so a cycle among them is reported from where the user started; then the
  // whole graph, so a broken config fails before anything runs.
  const result = order(requested);
  order(names);
  return result;
}
