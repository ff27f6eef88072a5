import type { Architecture, Runtime } from '../lambda/facts.js';
import { CommandError, PipeError } from '../errors.js';
import type { RunnerKind } from '../runners/runner.js';

/** What the vendoring step asked pip for: wheels for another Python and platform than the build's own. */
export interface VendorRequest {
  runtime: Runtime;
  architecture: Architecture;
  /** "3.12" */
  pythonVersion: string;
  /** pip `--platform` tags, oldest glibc first. */
  platforms: readonly string[];
  /** Project-relative requirements file: "handler/requirements.txt". */
  requirements: string;
  runner: RunnerKind;
}

const NO_MATCH = /No matching distribution found for (\S+)/;
const NO_VERSION = /Could not find a version that satisfies the requirement (\S+) \(from versions: ([^)]*)\)/;

/** "manylinux2014_x86_64, manylinux_2_17_x86_64 ... manylinux_2_34_x86_64" */
function platformRange(platforms: readonly string[]): string {
  if (platforms.length <= 3) return platforms.join(', ');
  return `${platforms[0]}, ${platforms[1]} ... ${platforms[platforms.length - 1]}`;
}

/**
 * pip's "No matching distribution found for numpy==2.2.6" says neither what was asked for nor what to
 * do: the vendoring step asks for the Lambda runtime's Python and platforms, which the machine's index
 * or wheelhouse may not have (cp311 wheels only, and the runtime is python3.12). Other failures pass
 * through unchanged.
 */
export function explainVendorFailure(error: unknown, request: VendorRequest): unknown {
  if (!(error instanceof CommandError)) return error;
  const tail = error.stderrTail.join('\n');
  const requirement = NO_MATCH.exec(tail)?.[1] ?? NO_VERSION.exec(tail)?.[1];
  if (!requirement) return error;
  const listed = NO_VERSION.exec(tail)?.[2]?.trim();
  const versions = listed && listed !== 'none' ? listed : undefined;
  const abi = `cp${request.pythonVersion.replace('.', '')}`;
  const [name = requirement, version] = requirement.split('==');
  const example = `${name.replace(/-/g, '_')}-${version ?? 'VERSION'}-${abi}-${abi}-${request.platforms[1] ?? request.platforms[0]}.whl`;
  const pipLines = error.stderrTail.filter((line) => /^ERROR:/.test(line)).map((line) => `  pip: ${line}`);
  const message =
    `No wheel of ${requirement} (from ${request.requirements}) for the ${request.runtime} ${request.architecture} runtime: ` +
    `pip was asked for Python ${request.pythonVersion} (${abi}) binary wheels for platforms ${platformRange(request.platforms)}` +
    `, and found ${versions ? `only other versions: ${versions}` : 'none'}.` +
    (pipLines.length ? `\n${pipLines.join('\n')}` : '');
  const container =
    request.runner === 'docker'
      ? " In the build container the host's pip configuration is not read, and a wheelhouse must be mounted: docker: { binds: ['/srv/wheels:/srv/wheels:ro'] }."
      : '';
  return new PipeError('RUNTIME_WHEELS_NOT_FOUND', message, {
    hint:
      `The package index pip uses has no wheel such as ${example}. Point pip at an index or a wheelhouse that has one, in pipeline.config.ts: ` +
      `buildEnv: { PIP_INDEX_URL: 'https://pypi.example/simple' } or buildEnv: { PIP_FIND_LINKS: '/srv/wheels' }.${container} ` +
      `Or choose a runtime whose wheels your index has (runtime in pipeline.config.ts).`,
    cause: error,
  });
}
