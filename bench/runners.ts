// Docker runner against local runner, measured in one run (the machines are shared and noisy: ratios,
// not absolute times, are what carries over):
//  1. per-step overhead: the same trivial step through LocalRunner and the docker runner, median of N
//     interleaved executions each;
//  2. the full `pipe env model --force` through the real CLI on each runner, in a temporary copy of the
//     example project, then the no-op second run (everything up to date) on each.
// Needs dist/ (npx tsc -p tsconfig.json), the engine (scripts/ensure-podman.sh) and the build image
// (scripts/ensure-build-image.sh). Run: node --import tsx bench/runners.ts
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { resolveConfig } from '../src/config/resolved.js';
import type { PipeConfig } from '../src/config/schema.js';
import type { StepReporter } from '../src/reporter/reporter.js';
import { PROJECT_LABEL } from '../src/runners/docker-container.js';
import { engineLocation } from '../src/runners/docker-engine.js';
import { createDockerRunner } from '../src/runners/docker-runner.js';
import { LocalRunner } from '../src/runners/local-runner.js';
import type { Runner, RunStep } from '../src/runners/runner.js';
import { PIPE_BIN } from '../test/support/cli.js';
import { makeExampleProject, OFFLINE_PIP_DOCKER } from '../test/support/example-project.js';

const IMAGE = 'localhost/pipe-build-python3.11:latest';
const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///tmp/podman.sock';
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
// Small forest: the benchmark compares runners, not training; the steps (venv, pip, train, SHAP proof) are the real ones.
const MODEL = { seed: 7, hyperparameters: { n_estimators: 10, max_depth: 4, max_leaf_nodes: 12 } };

const silent: StepReporter = { line() {}, progress() {}, step: () => silent, done() {}, fail() {} };
const engineEnv = { DOCKER_HOST };
const docker = new Docker(engineLocation(engineEnv).options);
const projectDirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = (): number => performance.now();

async function preflight(): Promise<void> {
  const ok = await docker.ping().then(() => true, () => false);
  if (!ok) throw new Error(`no Docker engine at ${DOCKER_HOST}: run scripts/ensure-podman.sh`);
  const found = await docker.getImage(IMAGE).inspect().then(() => true, () => false);
  if (!found) throw new Error(`image ${IMAGE} missing: run scripts/ensure-build-image.sh`);
}

/** Median milliseconds of each step on each runner, executions interleaved so load hits both alike. */
async function stepOverhead(steps: RunStep[]): Promise<{ setupMs: number; rows: { title: string; local: number; docker: number }[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-runners-'));
  projectDirs.push(dir);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const pipeConfig: PipeConfig = { app: 'bench', runtime: 'python3.11', image: IMAGE, docker: { network: 'none' } };
  const config = resolveConfig(pipeConfig, path.join(dir, 'pipeline.config.ts'), undefined);
  const signal = new AbortController().signal;
  const local = new LocalRunner(config);
  const setupStart = now();
  const dockerRunner = await createDockerRunner({ config, env: engineEnv, signal, reporter: silent });
  const setupMs = now() - setupStart;
  try {
    const time = async (runner: Runner, step: RunStep): Promise<number> => {
      const start = now();
      await runner.exec(step, { reporter: silent, signal });
      return now() - start;
    };
    const rows = [];
    for (const step of steps) {
      // One warm-up each: first-use costs (page cache, image layers) are not per-step overhead.
      await time(local, step);
      await time(dockerRunner, step);
      const l: number[] = [];
      const d: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        l.push(await time(local, step));
        d.push(await time(dockerRunner, step));
      }
      rows.push({ title: step.command.join(' '), local: median(l), docker: median(d) });
    }
    return { setupMs, rows };
  } finally {
    await dockerRunner.dispose();
    await local.dispose();
  }
}

/** Runs the real CLI; throws with its output when it fails. */
function pipe(args: string[], cwd: string): Promise<{ ms: number; stdout: string }> {
  const start = now();
  const child = spawn(process.execPath, [PIPE_BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true', DOCKER_HOST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = now() - start;
      if (code === 0) resolve({ ms, stdout: out });
      else reject(new Error(`pipe ${args.join(' ')} exited ${code} in ${cwd}:\n${out.split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** `env model --force`, then `env model` again (must skip both), on one runner in its own project copy. */
async function envModel(runner: 'local' | 'docker'): Promise<{ full: number; noop: number }> {
  const config: Record<string, unknown> = { app: `bench-${runner}`, runtime: 'python3.11', runner, image: IMAGE, model: MODEL };
  if (runner === 'docker') config.docker = { ...OFFLINE_PIP_DOCKER, network: 'none' };
  else config.buildEnv = { PIP_RETRIES: '0' };
  const project = await makeExampleProject(config);
  projectDirs.push(project.dir);
  cleanups.push(project.cleanup);
  const full = await pipe(['env', 'model', '--runner', runner, '--force'], project.dir);
  if (!/proof passed/.test(full.stdout)) throw new Error(`env model on ${runner} did not report the SHAP proof:\n${full.stdout}`);
  const noop = await pipe(['env', 'model', '--runner', runner], project.dir);
  if (!/env: skipped/.test(noop.stdout) || !/model: skipped/.test(noop.stdout)) {
    throw new Error(`second env model on ${runner} was not a no-op:\n${noop.stdout}`);
  }
  return { full: full.ms, noop: noop.ms };
}

/** Removes containers of this benchmark's projects still there; returns how many there were. */
async function leftoverContainers(): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } });
  const ours = containers.filter((c) => projectDirs.includes(c.Labels[PROJECT_LABEL] ?? ''));
  await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  return ours.length;
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`).padStart(9);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`.padStart(10);
const share = (a: number, b: number): string => `${((a / b) * 100).toFixed(1)}%`.padStart(9);

async function main(): Promise<void> {
  await preflight();
  const started = now();
  const steps = await stepOverhead([{ command: ['true'] }, { command: ['python3', '-c', 'pass'] }]);
  // Docker first: if the wheels are not in the page cache it pays for reading them, which can only
  // overstate docker's ratio, never hide its cost.
  const dockerRun = await envModel('docker');
  const localRun = await envModel('local');
  const left = await leftoverContainers();

  const lines = [
    `runners: local vs docker (${IMAGE}), one run, ${RUNS} interleaved executions per step (median)`,
    `${'measure'.padEnd(34)}${'local'.padStart(9)}${'docker'.padStart(9)}${'docker/local'.padStart(14)}`,
    ...steps.rows.map((r) => `${`step: ${r.title}`.padEnd(34)}${fmt(r.local)}${fmt(r.docker)}${ratio(r.docker, r.local).padStart(14)}`),
    `${'env model --force'.padEnd(34)}${fmt(localRun.full)}${fmt(dockerRun.full)}${ratio(dockerRun.full, localRun.full).padStart(14)}`,
    `${'env model (no-op second run)'.padEnd(34)}${fmt(localRun.noop)}${fmt(dockerRun.noop)}${ratio(dockerRun.noop, localRun.noop).padStart(14)}`,
    `${'no-op run / full run'.padEnd(34)}${share(localRun.noop, localRun.full)}${share(dockerRun.noop, dockerRun.full)}`,
    `docker runner setup (ping, image inspect, python --version): ${steps.setupMs.toFixed(0)} ms`,
  ];
  const pythonRow = steps.rows.at(-1)!;
  const perStep = pythonRow.docker - pythonRow.local;
  lines.push(
    `=> each container step costs ~${perStep.toFixed(0)} ms more than on the host; env model runs ~${(dockerRun.full / localRun.full).toFixed(2)}x ` +
      `the local time (pip/training dominate); a no-op run costs ${((dockerRun.noop / dockerRun.full) * 100).toFixed(1)}% of a full docker run.`,
    `leftover pipe containers of this benchmark: ${left}; total ${((now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(lines.join('\n'));
  if (left > 0) process.exitCode = 1;
}

try {
  await main();
} finally {
  // Also after a failure: nothing of this benchmark stays behind.
  const left = await leftoverContainers().catch(() => 0);
  if (left > 0) console.error(`removed ${left} leftover container(s) of this benchmark`);
  await Promise.all(cleanups.map((c) => c()));
}
