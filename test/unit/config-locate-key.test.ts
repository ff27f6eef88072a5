import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locateKey } from '../../src/config/locate-key.js';

const SOURCE = `import { defineConfig } from 'pipe';

export default defineConfig({
  app: 'credit-risk',
  function: { memory: 512 },
  stages: {
    dev: {},
    prod: {
      function: { memory: 99999 },
    },
  },
  'model': { estimator: "forest" },
});
`;

describe('locateKey', () => {
  it('finds a nested key after its parents, not an earlier key of the same name', () => {
    assert.deepEqual(locateKey(SOURCE, 'stages.prod.function.memory'), { line: 9, column: 19 });
    assert.deepEqual(locateKey(SOURCE, 'function.memory'), { line: 5, column: 15 });
  });

  it('finds quoted keys and array items by their key', () => {
    assert.equal(locateKey(SOURCE, 'model.estimator')?.line, 12);
    assert.equal(locateKey(`export default { docker: { binds: [1] } }`, 'docker.binds[0]')?.line, 1);
  });

  it('falls back to the deepest key written out, or nothing', () => {
    assert.equal(locateKey(SOURCE, 'stages.prod.url.auth')?.line, 8);
    assert.equal(locateKey(SOURCE, 'nope.deeper'), undefined);
  });
});
