import path from 'node:path';
import type { TaskDefinition } from '../src/task.js';
import { venvPython } from './env.js';

export const modelTask: TaskDefinition = {
  name: 'model',
  description: 'Train the model in the env and write artifacts/ (checked SHAP explainer, model card, metrics, plot)',
  dependencies: ['env'],
  // The build-time proof runs the function's own explainer: handler/ is an input too.
  inputs: (c) => [`${c.paths.python}/**`, `${c.paths.handler}/**`, ...(c.model.data ? [c.model.data] : [])],
  outputs: (c) => [c.paths.artifacts],
  configSlice: (c) => ({ model: c.model, paths: c.paths, buildEnv: c.buildEnv }),
  usesRunner: true,
  async run(ctx) {
    const { config } = ctx;
    const runner = await ctx.runner();
    const out = path.relative(ctx.root, ctx.staging(config.paths.artifacts)).split(path.sep).join('/');
    const command = [
      venvPython(config),
      `${config.paths.python}/build_model_artifacts.py`,
      '--out', out,
      '--seed', String(config.model.seed),
      '--params', JSON.stringify(config.model.hyperparameters),
    ];
    const { data, target, estimator, task, features, exclude, required, constraints, unseenCategories, decision } = config.model;
    if (data && target) command.push('--data', data, '--target', target);
    command.push('--estimator', estimator);
    if (task) command.push('--task', task);
    const spec = { features, exclude, required, constraints, unseenCategories, decision };
    command.push('--spec', JSON.stringify(spec));
    await runner.exec({ command, env: { ...config.buildEnv, MPLBACKEND: 'Agg' } }, { signal: ctx.signal, reporter: ctx.reporter });
  },
};
