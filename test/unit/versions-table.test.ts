import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { versionsTable } from '../../tasks/versions.js';

describe('pipe versions as a table', () => {
  it("writes each version's metric as pipe writes numbers: a price model's rmse whole, a score to four digits", () => {
    const lines = versionsTable([
      { version: '4', aliases: ['live'], note: { model: 'houses', modelVersion: '59dd7ecfe390', metric: { name: 'rmse', value: 39320.8009 } } },
      { version: '3', aliases: [], note: { model: 'credit', modelVersion: '1bb7c23ac294', metric: { name: 'roc_auc', value: 0.74071 } } },
    ]);
    assert.match(lines[1]!, /^4 +houses@59dd7ecfe390 +rmse 39,321 /);
    assert.match(lines[2]!, /^3 +credit@1bb7c23ac294 +roc_auc 0\.7407 /);
  });
});
