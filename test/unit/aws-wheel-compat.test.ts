import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipeError } from '../../src/errors.js';
import { checkRuntimeSupported } from '../../src/aws/rules/runtime-support.js';
import { checkWheelsCompatible, findIncompatibleWheels, glibcOfPlatform, tagProblem } from '../../src/aws/rules/wheel-compat.js';

describe('wheel compatibility (glibc, arch, python)', () => {
  it('reads modern and legacy manylinux tags', () => {
    assert.deepEqual(glibcOfPlatform('manylinux_2_28_x86_64'), { glibc: [2, 28], arch: 'x86_64' });
    assert.deepEqual(glibcOfPlatform('manylinux2014_aarch64'), { glibc: [2, 17], arch: 'aarch64' });
    assert.deepEqual(glibcOfPlatform('manylinux1_x86_64'), { glibc: [2, 5], arch: 'x86_64' });
    assert.equal(glibcOfPlatform('win_amd64'), null);
  });

  it('accepts manylinux_2_17 on python3.11 and refuses manylinux_2_28 naming the wheel', () => {
    assert.equal(tagProblem('cp311-cp311-manylinux_2_17_x86_64', 'python3.11', 'x86_64'), null);
    assert.throws(
      () => checkWheelsCompatible([{ name: 'numpy', version: '2.3.0', tags: ['cp311-cp311-manylinux_2_28_x86_64'] }], 'python3.11', 'x86_64'),
      (e: unknown) => e instanceof PipeError && e.code === 'WHEEL_INCOMPATIBLE' && /numpy-2\.3\.0: needs glibc 2\.28/.test(e.message) && /glibc 2\.26/.test(e.message),
    );
  });

  it('accepts manylinux_2_28 on python3.12 (glibc 2.34) and refuses 2_35', () => {
    assert.equal(tagProblem('cp312-cp312-manylinux_2_28_x86_64', 'python3.12', 'x86_64'), null);
    assert.match(tagProblem('cp312-cp312-manylinux_2_35_x86_64', 'python3.12', 'x86_64') ?? '', /glibc 2\.35/);
  });

  it('is satisfied when any of a wheel\'s tags fits', () => {
    const wheels = [{ name: 'scipy', version: '1.14.1', tags: ['cp311-cp311-manylinux_2_28_x86_64', 'cp311-cp311-manylinux2014_x86_64'] }];
    assert.deepEqual(findIncompatibleWheels(wheels, 'python3.11', 'x86_64'), []);
  });

  it('refuses the wrong architecture, musl, the wrong CPython and accepts pure and abi3 wheels', () => {
    assert.match(tagProblem('cp311-cp311-manylinux_2_17_aarch64', 'python3.11', 'x86_64') ?? '', /aarch64/);
    assert.equal(tagProblem('cp311-cp311-manylinux_2_17_aarch64', 'python3.11', 'arm64'), null);
    assert.match(tagProblem('cp311-cp311-musllinux_1_2_x86_64', 'python3.11', 'x86_64') ?? '', /musl/);
    assert.match(tagProblem('cp312-cp312-manylinux_2_17_x86_64', 'python3.11', 'x86_64') ?? '', /CPython 3\.12/);
    assert.equal(tagProblem('py3-none-any', 'python3.11', 'x86_64'), null);
    assert.equal(tagProblem('cp38-abi3-manylinux2014_x86_64', 'python3.12', 'x86_64'), null);
  });
});

describe('runtime support', () => {
  const now = new Date('2026-11-25T00:00:00Z');
  it('refuses blocked python3.7/3.8 and deprecated python3.9 with a hint naming supported runtimes', () => {
    for (const [runtime, code] of [['python3.7', 'RUNTIME_BLOCKED'], ['python3.8', 'RUNTIME_BLOCKED'], ['python3.9', 'RUNTIME_DEPRECATED']] as const) {
      assert.throws(() => checkRuntimeSupported(runtime, now), (e: unknown) => e instanceof PipeError && e.code === code && /python3\.12/.test(e.hint ?? ''));
    }
  });
  it('accepts python3.10 to python3.13 and reports their glibc', () => {
    assert.deepEqual(checkRuntimeSupported('python3.11', now).glibc, [2, 26]);
    assert.deepEqual(checkRuntimeSupported('python3.13', now).glibc, [2, 34]);
  });
});
