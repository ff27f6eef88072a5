import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeOptions } from '../../src/aws/rules/write-options.js';
import { InterruptedError } from '../../src/errors.js';

describe('writeOptions', () => {
  it('starts no AWS change after an interrupt, and never hands the signal to a write in flight', () => {
    const controller = new AbortController();
    assert.deepEqual(writeOptions(controller.signal), {}, 'no abortSignal: a sent write finishes');
    controller.abort();
    assert.throws(() => writeOptions(controller.signal), InterruptedError);
  });
});
