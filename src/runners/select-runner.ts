import type { ResolvedConfig } from '../config/resolved.js';
import type { RunnerChoice } from '../config/schema.js';
import { LocalRunner } from './local-runner.js';
import type { Runner } from './runner.js';

export interface RunnerSelection {
  config: ResolvedConfig;
  /** `--runner`, over the config's `runner`. */
  choice?: RunnerChoice;
  /** `--image`, over the config's `image`. */
  image?: string;
  /** Receives the choice made on `auto` when no engine answers. */
  notice: (text: string) => void;
}

async function dockerRunner(sel: RunnerSelection): Promise<Runner> {
  const { connectDockerRunner } = await import('./docker-runner.js');
  return connectDockerRunner({ config: sel.config, image: sel.image });
}

/**
 * docker when asked, or on `auto` when an engine answers; local otherwise. The runner is not prepared
 * (nothing pulled, no container started). The docker modules (and dockerode) are loaded only when a
 * container runner is actually used.
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
      sel.notice('no Docker engine answers: using the local runner (see --runner)');
      return new LocalRunner(sel.config);
    }
    default: {
      const never: never = choice;
      throw new Error(`unknown runner ${String(never)}`);
    }
  }
}
