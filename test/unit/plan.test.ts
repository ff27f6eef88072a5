import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineFingerprint, type FingerprintParts } from '../../src/fingerprint/fingerprint.js';
import { describeChange, planRun, type PlanInput } from '../../src/plan/plan.js';

const parts = (files: Record<string, string>, extra: Partial<FingerprintParts> = {}): FingerprintParts => ({
  files: Object.fromEntries(Object.entries(files).map(([f, hash]) => [f, { hash, size: 1, mtimeMs: 1 }])),
  config: 'c1',
  tools: {},
  dependencies: {},
  ...extra,
});

function input(name: string, now: FingerprintParts, before: FingerprintParts | undefined, opts: Partial<PlanInput> = {}): PlanInput {
  return {
    name,
    dependencies: [],
    cacheable: true,
    requested: true,
    fingerprint: combineFingerprint(name, now),
    parts: now,
    stored: before ? { fingerprint: combineFingerprint(name, before), parts: before } : undefined,
    missingOutputs: [],
    ...opts,
  };
}

describe('planRun', () => {
  it('skips an unchanged task with outputs present', () => {
    const p = parts({ 'a.txt': 'h1' });
    assert.deepEqual(planRun([input('a', p, p)], { force: false }).map((t) => [t.action, t.reason]), [['skip', 'up to date']]);
  });

  it('runs a task that never succeeded', () => {
    assert.equal(planRun([input('a', parts({}), undefined)], { force: false })[0]!.reason, 'no previous successful run');
  });

  it('names the changed input', () => {
    const [t] = planRun([input('a', parts({ 'a.txt': 'h2', 'b.txt': 'x' }), parts({ 'a.txt': 'h1', 'b.txt': 'x' }))], { force: false });
    assert.equal(t!.action, 'run');
    assert.equal(t!.reason, 'inputs changed: a.txt');
  });

  it('runs when an output is missing', () => {
    const p = parts({});
    const [t] = planRun([input('a', p, p, { missingOutputs: ['out/a.txt'] })], { force: false });
    assert.deepEqual([t!.action, t!.reason], ['run', 'output missing: out/a.txt']);
  });

  it('runs dependents of a running task, and only those', () => {
    const p = parts({});
    const plan = planRun(
      [input('a', parts({ 'a.txt': 'new' }), parts({ 'a.txt': 'old' })), input('b', p, p, { dependencies: ['a'] }), input('c', p, p)],
      { force: false },
    );
    assert.deepEqual(plan.map((t) => t.action), ['run', 'run', 'skip']);
    assert.equal(plan[1]!.reason, 'dependency runs: a');
  });

  it('always runs a task without declared inputs and outputs', () => {
    const [t] = planRun([{ name: 'deploy', dependencies: [], cacheable: false, requested: true, missingOutputs: [] }], { force: false });
    assert.equal(t!.action, 'run');
    assert.match(t!.reason, /always runs/);
  });

  it('--force runs the requested tasks but not their up-to-date dependencies', () => {
    const p = parts({});
    const plan = planRun([input('a', p, p, { requested: false }), input('b', p, p, { dependencies: ['a'] })], { force: true });
    assert.deepEqual(plan.map((t) => t.action), ['skip', 'run']);
    assert.equal(plan[1]!.reason, 'forced (--force)');
  });
});

describe('describeChange', () => {
  it('reports config, tools, dependencies, new and deleted files', () => {
    const before = parts({ 'gone.txt': 'x' }, { config: 'c1', tools: { imageId: 'sha:1' }, dependencies: { env: 'f1' } });
    const now = parts({ 'new.txt': 'y' }, { config: 'c2', tools: { imageId: 'sha:2' }, dependencies: { env: 'f2' } });
    assert.equal(
      describeChange(before, now),
      'inputs changed: new.txt (new), gone.txt (deleted); configuration changed; tool versions changed: imageId; dependency changed: env',
    );
  });
});
