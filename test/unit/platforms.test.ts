import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipPlatforms, runtimePythonVersion } from '../../src/lambda/facts.js';

describe('pip platforms for a Lambda runtime', () => {
  it('stops at glibc 2.26 on Amazon Linux 2 runtimes', () => {
    const tags = pipPlatforms('python3.11', 'x86_64');
    assert.equal(tags[0], 'manylinux2014_x86_64');
    assert.ok(tags.includes('manylinux_2_26_x86_64'));
    assert.ok(!tags.includes('manylinux_2_27_x86_64'), 'numpy >= 2.3 (manylinux_2_28) must not be picked');
  });

  it('goes up to glibc 2.34 on Amazon Linux 2023 runtimes, per architecture', () => {
    const tags = pipPlatforms('python3.12', 'arm64');
    assert.ok(tags.includes('manylinux_2_34_aarch64'));
    assert.ok(!tags.some((t) => t.includes('x86_64') || t.includes('2_35')));
  });

  it('maps the runtime to its Python version', () => {
    assert.equal(runtimePythonVersion('python3.12'), '3.12');
  });
});
