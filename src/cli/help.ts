import type { TaskDefinition, TaskOption } from '../task.js';

/** Options every task accepts. */
export const GLOBAL_OPTIONS: Record<string, TaskOption> = {
  stage: { type: 'string', describe: 'Stage to build or deploy (from pipeline.config.ts stages)' },
  config: { type: 'string', describe: 'Config file (default: nearest pipeline.config.ts)' },
  runner: { type: 'string', describe: 'Where build steps run: docker | local (default: config, else docker when an engine answers)' },
  image: { type: 'string', describe: 'Build image for the docker runner, for this run' },
  'dry-run': { type: 'boolean', describe: 'Print the plan (what would run or be skipped, and why); change nothing' },
  force: { type: 'boolean', describe: 'Run the requested tasks even when up to date' },
  json: { type: 'boolean', describe: 'Print one machine-readable summary on stdout (progress goes to stderr)' },
  yes: { type: 'boolean', describe: 'Answer yes to confirmations (required without a TTY)' },
  verbose: { type: 'boolean', describe: 'More output, and stack traces of errors' },
  help: { type: 'boolean', describe: "Show help (pipe <task> --help: that task's options)" },
  version: { type: 'boolean', describe: 'Show the version' },
};

const pad = (s: string, n: number): string => s.padEnd(n);

function optionLines(options: Record<string, TaskOption>): string[] {
  const flag = (name: string, o: TaskOption) => `--${name}${o.type === 'boolean' ? '' : ` <${o.type}>`}`;
  const entries = Object.entries(options);
  const width = Math.max(...entries.map(([n, o]) => flag(n, o).length), 10) + 2;
  return entries.map(([name, o]) => {
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    return `  ${pad(flag(name, o), width)}${o.describe}${def}`;
  });
}

function taskLines(tasks: readonly TaskDefinition[]): string[] {
  const width = Math.max(...tasks.map((t) => t.name.length), 6) + 2;
  return tasks.map((t) => {
    const deps = t.dependencies.length ? `  [after: ${t.dependencies.join(', ')}]` : '';
    return `  ${pad(t.name, width)}${t.description}${deps}`;
  });
}

export function generalHelp(builtin: readonly TaskDefinition[], user: readonly TaskDefinition[], note?: string): string {
  const lines = [
    'Usage: pipe <task...> [options]',
    '',
    'Builds the Python environment, trains an explainable model, packages it and deploys it to AWS Lambda.',
    'Asking for a task runs its stale dependencies first; up-to-date tasks are skipped.',
    '',
    'Tasks:',
    ...taskLines(builtin),
  ];
  if (user.length) lines.push('', 'Tasks from pipeline.config.ts:', ...taskLines(user));
  if (note) lines.push('', note);
  lines.push(
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    '  npx pipe env model deploy',
    '  npx pipe deploy --dry-run',
    '  npx pipe serve --runner local --port 3000',
    '',
    'Exit codes: 0 ok, 1 a task failed, 2 usage or config error, 3 an alarm (monitor --fail-on), 130 interrupted.',
  );
  return lines.join('\n');
}

export function taskHelp(task: TaskDefinition): string {
  const lines = [`Usage: pipe ${task.name} [options]`, '', task.description];
  if (task.dependencies.length) lines.push('', `Runs first when stale: ${task.dependencies.join(', ')}`);
  if (task.inputs && task.outputs) lines.push('', 'Skipped when its inputs, configuration and dependencies are unchanged.');
  else if (!task.explicitOnly) lines.push('', 'Always runs (it checks what needs doing itself).');
  if (task.options && Object.keys(task.options).length) lines.push('', 'Task options:', ...optionLines({ ...task.options }));
  lines.push('', 'Options:', ...optionLines(GLOBAL_OPTIONS));
  return lines.join('\n');
}
