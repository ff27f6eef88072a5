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

/** What the training environment's install asked pip for: the build's own Python, from the files listed. */
export interface TrainingRequest {
  /** Project-relative requirements files: "python/requirements.txt", ... */
  requirements: readonly string[];
  /** "3.11.9": the runner's interpreter. */
  pythonVersion: string;
  runner: RunnerKind;
  /** The pip settings the step ran with (buildEnv, and docker.env in a container). */
  env: Readonly<Record<string, string>>;
}

/** Where pip looked, in words, from the settings it was given. */
function pipSources(env: Readonly<Record<string, string>>, runner: RunnerKind): string {
  const noIndex = env.PIP_NO_INDEX !== undefined && env.PIP_NO_INDEX !== '0' && env.PIP_NO_INDEX.toLowerCase() !== 'false';
  const asked = [
    !noIndex && env.PIP_INDEX_URL && `the index ${env.PIP_INDEX_URL}`,
    !noIndex && env.PIP_EXTRA_INDEX_URL && `the extra index ${env.PIP_EXTRA_INDEX_URL}`,
    env.PIP_FIND_LINKS && `the wheelhouse ${env.PIP_FIND_LINKS}`,
  ].filter((source): source is string => Boolean(source));
  if (asked.length) return asked.join(', ');
  if (noIndex) return 'no index at all (PIP_NO_INDEX is set, and no PIP_FIND_LINKS)';
  return runner === 'docker'
    ? "pip's default index (PyPI): the build container reads neither the host's pip configuration nor its wheels"
    : "pip's own configuration on this machine (PyPI unless pip.conf or PIP_INDEX_URL says otherwise)";
}

/**
 * The training environment's install found no distribution for a requirement (xgboost where the index
 * has no wheel, a typo in python/requirements.txt): which package, which files ask for it, where pip
 * looked, and how to point it elsewhere. Other failures pass through unchanged.
 */
export function explainTrainingFailure(error: unknown, request: TrainingRequest): unknown {
  if (!(error instanceof CommandError)) return error;
  const tail = error.stderrTail.join('\n');
  const requirement = NO_MATCH.exec(tail)?.[1] ?? NO_VERSION.exec(tail)?.[1];
  if (!requirement) return error;
  const listed = NO_VERSION.exec(tail)?.[2]?.trim();
  const versions = listed && listed !== 'none' ? `only other versions: ${listed}` : 'no distribution of it';
  const container =
    request.runner === 'docker' ? " In the build container a wheelhouse must also be mounted: docker: { binds: ['/srv/wheels:/srv/wheels:ro'] }." : '';
  return new PipeError(
    'TRAINING_PACKAGE_NOT_FOUND',
    `The training environment cannot install ${requirement} (from ${request.requirements.join(' or ')}): pip looked in ` +
      `${pipSources(request.env, request.runner)} for Python ${request.pythonVersion}, and found ${versions}.`,
    {
      hint:
        `Point pip at an index or a wheelhouse that has ${requirement.split(/[=<>!~ ]/)[0]}, in pipeline.config.ts: ` +
        `buildEnv: { PIP_INDEX_URL: 'https://pypi.example/simple' } or buildEnv: { PIP_FIND_LINKS: '/srv/wheels' }.${container}`,
      cause: error,
    },
  );
}
