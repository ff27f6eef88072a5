import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressThrottle } from '../../src/reporter/progress-throttle.js';

describe('ProgressThrottle', () => {
  const update = (current: number, total?: number) => ({ label: 'layer a', current, total, unit: 'bytes' as const });

  it('lets one update per key through per interval, and always the one that reaches the total', () => {
    const throttle = new ProgressThrottle(2000);
    assert.equal(throttle.admit('a', update(1, 10), 10_000), true);
    assert.equal(throttle.admit('a', update(2, 10), 11_000), false);
    assert.equal(throttle.admit('b', update(2, 10), 11_000), true, 'another key has its own interval');
    assert.equal(throttle.admit('a', update(3, 10), 12_000), true);
    assert.equal(throttle.admit('a', update(10, 10), 12_001), true, 'the last update is always shown');
    assert.equal(throttle.admit('a', update(5), 12_002), false, 'without a total nothing is ever finished');
  });
});
