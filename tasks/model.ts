import path from 'node:path';
import type { TaskDefinition } from '../src/task.js';
import { venvPython } from './env.js';

export const modelTask: TaskDefinition = {
  name: 'model',
  description: 'Train the model in the env and write artifacts/ (checked SHAP explainer, model card, metrics, plot)',
  dependencies: ['env'],
  inputs: (c) => [`${c.paths.python}/**`, ...(c.model.data ? [c.model.data] : [])],
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
    if (config.model.data) command.push('--data', config.model.data, '--target', config.model.target ?? 'SeriousDlqin2yrs');
    await runner.exec({ command, env: { ...config.buildEnv, MPLBACKEND: 'Agg' } }, { signal: ctx.signal, reporter: ctx.reporter });
  },
};
