import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationSeconds, durationText } from '../../src/config/duration.js';
import { rolloutPlan } from '../../src/aws/stages/rollout.js';
import { aliasedVersions, versionsToDelete } from '../../src/aws/stages/retention.js';

describe('rollout plans, durations and retention', () => {
  it('reads durations in words and writes them back', () => {
    assert.deepEqual(['30 seconds', '1 minute', '10 minutes', '1.5 hours', '2 Hours'].map(durationSeconds), [30, 60, 600, 5400, 7200]);
    assert.deepEqual(['10', '10 mins', '0 seconds', '-1 minute', 'minute'].map(durationSeconds), [undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual([1, 30, 60, 90, 600, 3600].map(durationText), ['1 second', '30 seconds', '1 minute', '1.5 minutes', '10 minutes', '1 hour']);
  });

  it('a canary is one share then all; linear steps by its share up to all', () => {
    assert.equal(rolloutPlan('all-at-once'), undefined);
    assert.deepEqual(rolloutPlan({ canary: { percent: 10, wait: '10 minutes' } }), { kind: 'canary', percents: [10], waitSeconds: 600 });
    assert.deepEqual(rolloutPlan({ linear: { percent: 10, every: '1 minute' } })?.percents, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert.deepEqual(rolloutPlan({ linear: { percent: 30, every: '1 minute' } })?.percents, [30, 60, 90]);
  });

  it('keeps the newest N and whatever an alias points to, with or without a weight', () => {
    const aliased = aliasedVersions([{ Name: 'live', FunctionVersion: '3', RoutingConfig: { AdditionalVersionWeights: { '9': 0.1 } } }, { Name: 'candidate', FunctionVersion: '1' }]);
    assert.deepEqual([...aliased].sort(), ['1', '3', '9']);
    assert.deepEqual(versionsToDelete(['1', '2', '3', '4', '5', '9', '10', '11'], aliased, 2), ['5', '4', '2']);
    assert.deepEqual(versionsToDelete(['1', '2'], new Set(), 10), []);
  });
});
