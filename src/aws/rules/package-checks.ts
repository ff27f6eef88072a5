import type { ResolvedConfig } from '../../config/resolved.js';
import { UsageError } from '../../errors.js';
import type { StepReporter } from '../../reporter/reporter.js';
import type { LocalPackage } from '../../packaging/package-manifest.js';
import { checkRuntimeSupported } from './runtime-support.js';
import { chooseSizeStrategy, describeSizeStrategy, type SizeStrategy } from './size-strategy.js';
import { checkWheelsCompatible } from './wheel-compat.js';

/**
 * Everything that can be known wrong before calling AWS: the runtime, the wheels' glibc, and whether
 * the package fits. Prints the size strategy with the numbers it came from.
 */
export function checkPackageForLambda(config: ResolvedConfig, pkg: LocalPackage, options: { allowSlim: boolean; reporter: StepReporter; now?: Date }): SizeStrategy {
  const { manifest } = pkg;
  if (manifest.runtime !== config.runtime || manifest.architecture !== config.architecture) {
    throw new UsageError('PACKAGE_STALE', `The package was built for ${manifest.runtime}/${manifest.architecture} but the config says ${config.runtime}/${config.architecture}`, {
      hint: 'Rebuild it: pipe env package.',
    });
  }
  checkRuntimeSupported(manifest.runtime, options.now);
  checkWheelsCompatible(manifest.wheels, manifest.runtime, manifest.architecture);
  const sizes = { function: manifest.function, layer: manifest.layer };
  const sources = { requirements: `${config.paths.handler}/requirements.txt`, artifacts: config.paths.artifacts };
  const strategy = chooseSizeStrategy({ ...sizes, ephemeralStorage: config.function.ephemeralStorage, allowSlim: options.allowSlim, sources });
  for (const line of describeSizeStrategy(strategy, sizes)) options.reporter.line(line);
  return strategy;
}
