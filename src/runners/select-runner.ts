import type { ResolvedConfig } from '../config/resolved.js';
import type { RunnerChoice } from '../config/schema.js';
import type { StepReporter } from '../reporter/reporter.js';
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
    case 'docker': {
      const { createDockerRunner } = await import('./docker-runner.js');
      return createDockerRunner({ config: sel.config, image: sel.image, reporter: sel.reporter, signal: sel.signal });
    }
    case 'auto': {
      const { dockerEngineAnswers, createDockerRunner } = await import('./docker-runner.js');
      if (await dockerEngineAnswers()) {
        return createDockerRunner({ config: sel.config, image: sel.image, reporter: sel.reporter, signal: sel.signal });
      }
      sel.reporter.line('no Docker engine answers: using the local runner (see --runner)', 'info');
      return new LocalRunner(sel.config);
    }
    default: {
      const never: never = choice;
      throw new Error(`unknown runner ${String(never)}`);
    }
  }
}
