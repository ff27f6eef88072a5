import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachDashValues, checkNumberOptions } from '../../src/cli/argv.js';
import { exitCodeOf } from '../../src/errors.js';
import type { TaskOption } from '../../src/task.js';

const OPTIONS: Record<string, TaskOption> = {
  since: { type: 'string', describe: '' },
  follow: { type: 'boolean', describe: '', alias: 'f' },
  port: { type: 'number', describe: '' },
  json: { type: 'boolean', describe: '' },
};

describe('attachDashValues', () => {
  it('keeps a dash-led value with its string option', () => {
    assert.deepEqual(attachDashValues(['logs', '--since', '-5m'], OPTIONS), ['logs', '--since=-5m']);
    assert.deepEqual(attachDashValues(['logs', '--since', '-1h30m', '--json'], OPTIONS), ['logs', '--since=-1h30m', '--json']);
  });

  it('leaves known flags, other options and `--` alone', () => {
    assert.deepEqual(attachDashValues(['logs', '--since', '--follow'], OPTIONS), ['logs', '--since', '--follow']);
    assert.deepEqual(attachDashValues(['logs', '--since', '-f'], OPTIONS), ['logs', '--since', '-f']);
    assert.deepEqual(attachDashValues(['serve', '--port', '-1'], OPTIONS), ['serve', '--port', '-1']);
    assert.deepEqual(attachDashValues(['logs', '--since', '5m'], OPTIONS), ['logs', '--since', '5m']);
    assert.deepEqual(attachDashValues(['x', '--', '--since', '-5m'], OPTIONS), ['x', '--', '--since', '-5m']);
  });
});

describe('checkNumberOptions', () => {
  it('names the value that is not a number', () => {
    assert.throws(
      () => checkNumberOptions({ port: Number.NaN }, ['serve', '--port', 'abc'], OPTIONS),
      (e: any) => exitCodeOf(e) === 2 && e.message === '--port expects a number, got "abc"',
    );
    assert.throws(() => checkNumberOptions({ port: Number.NaN }, ['serve', '--port=x1'], OPTIONS), /got "x1"/);
  });

  it('accepts numbers and absent options', () => {
    checkNumberOptions({ port: 3000 }, ['serve', '--port', '3000'], OPTIONS);
    checkNumberOptions({}, ['serve'], OPTIONS);
  });
});
