import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { environmentKey } from '../../src/runners/env-key.js';

describe('environmentKey', () => {
  it('is readable, safe as a directory name, and stable', () => {
    assert.equal(environmentKey('local', 'python3'), 'local-python3');
    const key = environmentKey('docker', 'public.ecr.aws/sam/build-python3.11:latest-x86_64');
    assert.match(key, /^docker-build-python3\.11-latest-x86_64-[0-9a-f]{8}$/);
    assert.equal(environmentKey('docker', 'public.ecr.aws/sam/build-python3.11:latest-x86_64'), key);
  });

  it('tells apart images and interpreters whose last path segment is the same', () => {
    assert.notEqual(environmentKey('docker', 'a.example/build:1'), environmentKey('docker', 'b.example/build:1'));
    assert.notEqual(environmentKey('local', '/usr/bin/python3'), environmentKey('local', '/opt/py/bin/python3'));
    assert.notEqual(environmentKey('local', 'python3'), environmentKey('docker', 'python3'));
  });
});
