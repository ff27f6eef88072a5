import path from 'node:path';
import type { ResolvedConfig } from '../src/config/resolved.js';
import type { TaskDefinition } from '../src/task.js';
import { explainTrainingFailure, explainVendorFailure } from '../src/packaging/missing-wheels.js';
import { pipPlatforms, runtimePythonVersion } from '../src/lambda/facts.js';
import { envPaths, requireProjectFiles, runtimeRequirements } from '../src/project-paths.js';

/** The training requirements files: the project's, plus the estimator's own library where it is optional. */
const trainingRequirementFiles = (config: ResolvedConfig): string[] => [
  `${config.paths.python}/requirements.txt`,
  ...(config.model.estimator === 'xgboost' ? [`${config.paths.python}/requirements-xgboost.txt`] : []),
];

const rel = (root: string, abs: string): string => path.relative(root, abs).split(path.sep).join('/');

export const envTask: TaskDefinition = {
  name: 'env',
  description: 'Build the Python environments: training venv, and runtime deps vendored for Lambda',
  dependencies: [],
  inputs: (c) => [`${c.paths.python}/requirements*.txt`, runtimeRequirements(c)],
  outputs: (c, envKey = 'none') => [envPaths(c, envKey).venv, envPaths(c, envKey).runtimeDeps],
  // Runner, image and interpreter are not here: they choose the environment (envKey), and its tool
  // identity (the image id; the local Python's version) is part of the fingerprint.
  configSlice: (c) => ({
    runtime: c.runtime, architecture: c.architecture, docker: c.docker, buildEnv: c.buildEnv,
    xgboost: c.model.estimator === 'xgboost',
  }),
  usesRunner: true,
  perEnvironment: true,
  preflight: ({ config }) => requireProjectFiles(config, 'env', [...trainingRequirementFiles(config), runtimeRequirements(config)]),
  async run(ctx) {
    const { config } = ctx;
    const runner = await ctx.runner();
    const io = { signal: ctx.signal, reporter: ctx.reporter };
    const env = config.buildEnv;
    const paths = envPaths(config, runner.envKey);
    const venv = rel(ctx.root, ctx.staging(paths.venv));
    const deps = rel(ctx.root, ctx.staging(paths.runtimeDeps));
    ctx.reporter.line(`runner: ${runner.describe()}, Python ${runner.pythonVersion || '?'}`, 'info');

    const train = ctx.reporter.step('training environment');
    await runner.exec({ command: [runner.python, '-m', 'venv', venv], env, title: 'create venv' }, { ...io, reporter: train });
    await runner.exec(
      { command: [`${venv}/bin/python`, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...trainingRequirementFiles(config).flatMap((file) => ['-r', file])], env },
      { ...io, reporter: train },
    ).catch((error: unknown) => {
      throw explainTrainingFailure(error, {
        requirements: trainingRequirementFiles(config), pythonVersion: runner.pythonVersion, runner: runner.kind,
        env: runner.kind === 'docker' ? { ...env, ...config.docker.env } : env,
      });
    });
    train.done();

    const vendor = ctx.reporter.step(`runtime deps for ${config.runtime} ${config.architecture}`);
    const target = runtimePythonVersion(config.runtime);
    const platforms = pipPlatforms(config.runtime, config.architecture);
    await runner.exec(
      {
        command: [
          `${venv}/bin/python`, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-compile',
          '--target', `${deps}/python`, '--implementation', 'cp', '--python-version', target, '--only-binary=:all:',
          ...platforms.flatMap((p) => ['--platform', p]),
          '-r', runtimeRequirements(config),
        ],
        env,
      },
      { ...io, reporter: vendor },
    ).catch((error: unknown) => {
      throw explainVendorFailure(error, {
        runtime: config.runtime, architecture: config.architecture, pythonVersion: target, platforms, requirements: runtimeRequirements(config), runner: runner.kind,
      });
    });
    // Lambda's code directory is read-only, so bytecode must ship in the package or be compiled on every
    // cold start. Unchecked-hash pycs are deterministic (no mtimes) and never re-validated at import.
    if (runner.pythonVersion.startsWith(`${target}.`)) {
      await runner.exec(
        { command: [`${venv}/bin/python`, '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', `${deps}/python`] },
        { ...io, reporter: vendor },
      );
    } else {
      vendor.line(`build Python ${runner.pythonVersion} differs from the runtime's ${target}: shipping sources only`, 'warn');
    }
    vendor.done();
  },
};
