import { didYouMean, type Issue } from '../config/fields.js';
import { invalidConfig } from '../config/invalid-config.js';
import type { UserTaskConfig } from '../config/schema.js';

/**
 * What is wrong with the config's own tasks as nodes of the graph beside the built-in ones, each
 * named by its key in the config: a name taken by a built-in task, neither or both of `command` and
 * `run`, a dependency on a task that does not exist. The schema has checked each value's type; cycles
 * are found with the whole graph by analyzeGraph.
 */
export function userTaskIssues(builtin: readonly string[], tasks: Readonly<Record<string, UserTaskConfig>>): Issue[] {
  const issues: Issue[] = [];
  const known = [...builtin, ...Object.keys(tasks)];
  for (const [name, task] of Object.entries(tasks)) {
    const at = `tasks.${name}`;
    if (builtin.includes(name)) issues.push({ path: at, message: 'has the name of a built-in task; choose another name' });
    if (!task.command && !task.run) issues.push({ path: at, message: 'needs a "command" (shell command) or a "run" function' });
    if (task.command && task.run) issues.push({ path: at, message: 'has both "command" and "run"; keep one' });
    (task.dependencies ?? []).forEach((dep, i) => {
      if (!known.includes(dep)) {
        issues.push({ path: `${at}.dependencies[${i}]`, message: `is "${dep}", which is not a task; the tasks: ${known.join(', ')}${didYouMean(dep, known)}` });
      }
    });
  }
  return issues;
}

/** Throws the config error (exit 2, naming each key and the file) when the config's tasks do not fit the graph. */
export function checkUserTasks(builtin: readonly string[], config: { file: string; tasks: Readonly<Record<string, UserTaskConfig>> }): void {
  const issues = userTaskIssues(builtin, config.tasks);
  if (issues.length > 0) throw invalidConfig(config.file, issues);
}
