import { defineConfig } from 'pipe';

export default defineConfig({
  app: 'credit-risk',
  region: 'us-east-1',
  // Amazon Linux 2 (glibc 2.26): numpy 2.2 wheels for manylinux2014 run there.
  runtime: 'python3.11',
  architecture: 'x86_64',
  // docker when an engine answers, else the local runner.
  runner: 'auto',
  // Fail fast on an unreachable package index (pip retries 5 times per package by default).
  buildEnv: { PIP_RETRIES: '1' },
  model: {
    seed: 42,
    hyperparameters: { n_estimators: 50, max_depth: 6, max_leaf_nodes: 30 },
  },
  function: { memory: 512, timeout: 30 },
  url: { auth: 'NONE' },
  stages: {
    dev: {},
    prod: { function: { memory: 1024 } },
  },
  defaultStage: 'dev',
});
