import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fairnessMarkdown, type FairnessReport } from '../../src/fairness/report.js';

describe('the fairness report as the step summary shows it', () => {
  it("writes a price model's mean prediction per group as pipe writes numbers, not as a raw double", () => {
    const report: FairnessReport = {
      split: 'validation', rows: 500, min_rows: 30,
      groups: { 'MS Zoning': { values: [
        { group: 'RL', rows: 380, small: false, mean_prediction: 272440.44365297158, smd: 0.0412 },
        { group: 'RM', rows: 12, small: true, mean_prediction: 4062.4, smd: null },
      ] } },
    };
    const text = fairnessMarkdown(report);
    assert.match(text, /\| RL \| 380 \| 272,440 \| \+0\.041 \|/);
    assert.match(text, /\| RM \| 12 \| 4062 \| n\/a \|/);
    assert.doesNotMatch(text, /272440\.44/);
  });
});
