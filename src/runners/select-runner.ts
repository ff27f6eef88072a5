import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import type { RunnerChoice } from '../config/schema.js';
import type { StepReporter } from '../reporter/reporter.js';
import { writeFileAtomic } from '../util/atomic.js';
import { LocalRunner } from './local-runner.js';
import type { Runner } from './runner.js';

export interface RunnerSelection {
  config: ResolvedConfig;
  /** `--runner`, over the config's `runner`. */
  choice?: RunnerChoice;
  /** `--image`, over the config's `image`. */
  image?: string;
  /** Receives image pull progress and the choice made. */
  reporter: StepReporter;
  signal: AbortSignal;
  /** A dry run: no image pull, no cache written. */
  readOnly?: boolean;
}

type PythonCache = Record<string, { python: string; version: string }>;

/** Image id -> its Python, remembered in .pipe/cache so a no-op run starts no container to ask again. */
function pythonCacheFile(config: ResolvedConfig): string {
  return path.join(config.root, '.pipe', 'cache', 'image-python.json');
}

function readPythonCache(config: ResolvedConfig): PythonCache {
  try {
    return JSON.parse(readFileSync(pythonCacheFile(config), 'utf8')) as PythonCache;
  } catch {
    return {};
  }
}

async function dockerRunner(sel: RunnerSelection): Promise<Runner> {
  const { createDockerRunner } = await import('./docker-runner.js');
  const cache = readPythonCache(sel.config);
  const runner = await createDockerRunner({
    config: sel.config,
    image: sel.image,
    reporter: sel.reporter,
    signal: sel.signal,
    pull: !sel.readOnly,
    knownPython: (id) => cache[id],
  });
  const detected = runner.detectedPython;
  if (!sel.readOnly && detected && !cache[runner.imageId]) {
    await writeFileAtomic(pythonCacheFile(sel.config), JSON.stringify({ ...cache, [runner.imageId]: detected }));
  }
  return runner;
}

/**
 * docker when asked, or on `auto` when an engine answers; local otherwise. The docker modules (and
 * dockerode) are loaded only when a container runner is actually used.
 */
export async function selectRunner(sel: RunnerSelection): Promise<Runner> {
  const choice = sel.choice ?? sel.config.runner;
  switch (choice) {
    case 'local':
      return new LocalRunner(sel.config);
    case 'docker':
      return dockerRunner(sel);
    case 'auto': {
      const { dockerEngineAnswers } = await import('./docker-engine.js');
      if (await dockerEngineAnswers()) return dockerRunner(sel);
      sel.reporter.line('no Docker engine answers: using the local runner (see --runner)', 'info');
      return new LocalRunner(sel.config);
    }
    default: {
      const never: never = choice;
      throw new Error(`unknown runner ${String(never)}`);
    }
  }
}
