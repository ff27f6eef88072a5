import { UsageError } from '../../errors.js';
import { MACHINE, PYTHON_RUNTIMES, supportedRuntimes, type Architecture } from '../../lambda/facts.js';
import type { VendoredWheel } from '../../packaging/wheels.js';
import { runtimeInfo } from './runtime-support.js';

export interface WheelProblem {
  wheel: string;
  reason: string;
}

const LEGACY_MANYLINUX: Record<string, [number, number]> = {
  manylinux1: [2, 5],
  manylinux2010: [2, 12],
  manylinux2014: [2, 17],
};

type PlatformVerdict = { ok: true } | { ok: false; reason: string };

/** The glibc a platform tag needs, or null when it is not a glibc Linux tag. */
export function glibcOfPlatform(platform: string): { glibc: readonly [number, number]; arch: string } | null {
  const modern = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (modern) return { glibc: [Number(modern[1]), Number(modern[2])], arch: modern[3]! };
  const legacy = /^(manylinux1|manylinux2010|manylinux2014)_(.+)$/.exec(platform);
  if (legacy) return { glibc: LEGACY_MANYLINUX[legacy[1]!]!, arch: legacy[2]! };
  return null;
}

const showGlibc = (v: readonly [number, number]): string => `${v[0]}.${v[1]}`;
const newer = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

function checkPlatform(platform: string, arch: string, glibc: readonly [number, number]): PlatformVerdict {
  if (platform === 'any') return { ok: true };
  const linux = glibcOfPlatform(platform);
  if (linux) {
    if (linux.arch !== arch) return { ok: false, reason: `built for ${linux.arch}, the function runs on ${arch}` };
    if (newer(linux.glibc, glibc)) return { ok: false, reason: `needs glibc ${showGlibc(linux.glibc)} (${platform}), the runtime has glibc ${showGlibc(glibc)}` };
    return { ok: true };
  }
  if (platform.startsWith('musllinux_')) return { ok: false, reason: `built for musl (${platform}); Lambda runs glibc` };
  if (platform.startsWith('linux_')) return { ok: false, reason: `has a non-portable platform tag (${platform}); build it as a manylinux wheel` };
  return { ok: false, reason: `built for another platform (${platform})` };
}

function checkInterpreter(pyTag: string, abiTag: string, pythonVersion: string): PlatformVerdict {
  const nodot = pythonVersion.replace('.', '');
  if (pyTag.startsWith('py')) return { ok: true };
  const cp = /^cp(\d+)$/.exec(pyTag);
  if (!cp) return { ok: false, reason: `built for another interpreter (${pyTag})` };
  if (cp[1] === nodot) return { ok: true };
  // abi3 wheels built for an older CPython work on newer ones.
  if (abiTag === 'abi3' && Number(cp[1]!.slice(1)) <= Number(nodot.slice(1))) return { ok: true };
  return { ok: false, reason: `built for CPython ${cp[1]!.slice(0, 1)}.${cp[1]!.slice(1)}, the runtime runs Python ${pythonVersion}` };
}

/** Why one tag does not fit, or null when it fits. */
export function tagProblem(tag: string, runtime: string, architecture: Architecture): string | null {
  const info = runtimeInfo(runtime);
  const parts = tag.split('-');
  if (parts.length !== 3) return `has a malformed tag "${tag}"`;
  const [py, abi, platform] = parts as [string, string, string];
  const interp = checkInterpreter(py, abi, info.pythonVersion);
  if (!interp.ok) return interp.reason;
  const plat = checkPlatform(platform, MACHINE[architecture], info.glibc);
  return plat.ok ? null : plat.reason;
}

/** Every wheel none of whose tags fits the runtime (glibc, architecture, Python version). */
export function findIncompatibleWheels(wheels: readonly VendoredWheel[], runtime: string, architecture: Architecture): WheelProblem[] {
  const problems: WheelProblem[] = [];
  for (const wheel of wheels) {
    if (wheel.tags.length === 0) continue;
    const reasons = wheel.tags.map((t) => tagProblem(t, runtime, architecture));
    if (reasons.some((r) => r === null)) continue;
    problems.push({ wheel: `${wheel.name}-${wheel.version}`, reason: reasons[0]! });
  }
  return problems;
}

/** Throws a UsageError naming each wheel that would fail to import on the Lambda runtime. */
export function checkWheelsCompatible(wheels: readonly VendoredWheel[], runtime: string, architecture: Architecture): void {
  const problems = findIncompatibleWheels(wheels, runtime, architecture);
  if (problems.length === 0) return;
  const info = runtimeInfo(runtime);
  const list = problems.map((p) => `  ${p.wheel}: ${p.reason}`).join('\n');
  const newerGlibc = supportedRuntimes().find((r) => newer(PYTHON_RUNTIMES[r].glibc, info.glibc));
  const otherRuntime = newerGlibc ? `, or use a runtime with a newer glibc (${newerGlibc}+ has glibc ${showGlibc(PYTHON_RUNTIMES[newerGlibc].glibc)})` : '';
  throw new UsageError(
    'WHEEL_INCOMPATIBLE',
    `${problems.length === 1 ? 'A vendored wheel does' : `${problems.length} vendored wheels do`} not fit the ${runtime} runtime (${info.os}, glibc ${showGlibc(info.glibc)}, ${architecture}):\n${list}`,
    {
      hint: `Pin a version that ships a wheel for manylinux_${info.glibc.join('_')} or older (e.g. manylinux2014)${otherRuntime}; then rerun pipe package.`,
    },
  );
}
