import { runtimeInfo } from '../aws/runtime-support.js';
import type { Architecture, Runtime } from '../config/schema.js';

export function runtimePythonVersion(runtime: Runtime): string {
  return runtimeInfo(runtime).pythonVersion;
}

/**
 * pip `--platform` tags a wheel may carry to run on the runtime: manylinux2014 (glibc 2.17) and every
 * manylinux_2_N up to the runtime's glibc, for its architecture. pip then never picks a wheel that needs
 * a newer glibc, which is what breaks numpy/scipy on python3.11 functions.
 */
export function pipPlatforms(runtime: Runtime, architecture: Architecture): string[] {
  const arch = architecture === 'arm64' ? 'aarch64' : 'x86_64';
  const [, minor] = runtimeInfo(runtime).glibc;
  const tags = [`manylinux2014_${arch}`];
  for (let m = 17; m <= minor; m++) tags.push(`manylinux_2_${m}_${arch}`);
  return tags;
}
