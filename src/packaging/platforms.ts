import type { Architecture, Runtime } from '../config/schema.js';

/** glibc of each Lambda runtime's OS: Amazon Linux 2 for up to python3.11, Amazon Linux 2023 after. */
export function runtimeGlibc(runtime: Runtime): [number, number] {
  switch (runtime) {
    case 'python3.8':
    case 'python3.9':
    case 'python3.10':
    case 'python3.11':
      return [2, 26];
    case 'python3.12':
    case 'python3.13':
      return [2, 34];
    default: {
      const never: never = runtime;
      throw new Error(`unknown runtime ${String(never)}`);
    }
  }
}

export function runtimePythonVersion(runtime: Runtime): string {
  return runtime.replace(/^python/, '');
}

/**
 * pip `--platform` tags a wheel may carry to run on the runtime: manylinux2014 (glibc 2.17) and every
 * manylinux_2_N up to the runtime's glibc, for its architecture. pip then never picks a wheel that needs
 * a newer glibc, which is what breaks numpy/scipy on python3.11 functions.
 */
export function pipPlatforms(runtime: Runtime, architecture: Architecture): string[] {
  const arch = architecture === 'arm64' ? 'aarch64' : 'x86_64';
  const [, minor] = runtimeGlibc(runtime);
  const tags = [`manylinux2014_${arch}`];
  for (let m = 17; m <= minor; m++) tags.push(`manylinux_2_${m}_${arch}`);
  return tags;
}
