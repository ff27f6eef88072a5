import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fairnessMarkdown, type FairnessReport } from '../src/fairness/report.js';
import type { ResolvedConfig } from '../src/config/resolved.js';
import { CommandError, UsageError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';
import { requireProjectFiles, venvPython } from '../src/project-paths.js';

/**
 * The build-time proof runs the function's own modules: every Python file of the handler directory but
 * the entry module, so that editing the entry point (routes, responses) does not retrain the model.
 */
const proofInputs = (c: ResolvedConfig): string[] => {
  const entry = `${c.function.handler.split('.').slice(0, -1).join('/')}.py`;
  return [`${c.paths.handler}/**/*.py`, `!${c.paths.handler}/${entry}`];
};

export const modelTask: TaskDefinition = {
  name: 'model',
  description: 'Train the model in the env and write artifacts/ (checked SHAP explainer, model card, metrics, plot)',
  dependencies: ['env'],
  inputs: (c) => [
    `${c.paths.python}/**`, ...proofInputs(c), ...(c.model.data ? [c.model.data] : []),
    ...(c.model.reference?.file ? [c.model.reference.file] : []),
  ],
  outputs: (c) => [c.paths.artifacts],
  configSlice: (c) => ({ model: c.model, paths: c.paths, buildEnv: c.buildEnv }),
  usesRunner: true,
  preflight: ({ config }) => requireProjectFiles(config, 'model', [`${config.paths.python}/build_model_artifacts.py`]),
  async run(ctx) {
    const { config } = ctx;
    const runner = await ctx.runner();
    const out = path.relative(ctx.root, ctx.staging(config.paths.artifacts)).split(path.sep).join('/');
    const command = [
      venvPython(config, runner.envKey),
      `${config.paths.python}/build_model_artifacts.py`,
      '--out', out,
      '--seed', String(config.model.seed),
      '--params', JSON.stringify(config.model.hyperparameters),
    ];
    const { data, target, estimator, task, features, exclude, required, constraints, unseenCategories, decision, reasons, positiveClass, reference, shapOutput, fairness } =
      config.model;
    if (data && target) command.push('--data', data, '--target', target);
    // Only what the config sets: a training script of the user's own need not know every option.
    if (estimator) command.push('--estimator', estimator);
    if (task) command.push('--task', task);
    const spec = JSON.stringify({ features, exclude, required, constraints, unseenCategories, decision, reasons, positiveClass, reference, shapOutput, fairness });
    if (spec !== '{}') command.push('--spec', spec);
    try {
      await runner.exec({ command, env: { ...config.buildEnv, MPLBACKEND: 'Agg' } }, { signal: ctx.signal, reporter: ctx.reporter });
    } catch (error) {
      // The training script exits 2 for bad data or model settings: the user's to fix, not a failed build.
      if (error instanceof CommandError && error.exitCode === 2) {
        const said = error.stderrTail.filter((line) => line.startsWith('error: ')).pop()?.slice('error: '.length);
        throw new UsageError('MODEL_INPUT', `the training data or model settings were refused: ${said ?? error.message}`, {
          hint: `Fix model.* in ${path.basename(config.file)} or the data file; earlier artifacts are kept.`,
          cause: error,
        });
      }
      throw error;
    }
    const card = await readFile(path.join(ctx.staging(config.paths.artifacts), 'model_card.json'), 'utf8').then((text) => JSON.parse(text) as { fairness?: FairnessReport }, () => undefined);
    if (!card?.fairness) return undefined;
    const flagged = card.fairness.flagged ?? [];
    return {
      summary: `fairness: ${flagged.length ? `${flagged.length} group${flagged.length === 1 ? '' : 's'} flagged (${flagged.join(', ')})` : 'no group flagged'}`,
      markdown: fairnessMarkdown(card.fairness),
      data: { fairness: card.fairness },
    };
  },
};
