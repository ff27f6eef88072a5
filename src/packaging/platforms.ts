import type { Architecture, Runtime } from '../config/schema.js';
import { pipPlatforms as platformsOf, PYTHON_RUNTIMES } from '../lambda/facts.js';

export function runtimePythonVersion(runtime: Runtime): string {
  return PYTHON_RUNTIMES[runtime].pythonVersion;
}

/** See lambda/facts.ts. */
export function pipPlatforms(runtime: Runtime, architecture: Architecture): string[] {
  return platformsOf(runtime, architecture);
}
