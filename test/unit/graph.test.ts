import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph, closestName } from '../../src/graph/graph.js';
import { UsageError, exitCodeOf } from '../../src/errors.js';

const node = (name: string, ...dependencies: string[]) => ({ name, dependencies });
const names = (nodes: { name: string }[]) => nodes.map((n) => n.name);

describe('analyzeGraph', () => {
  const builtins = [node('env'), node('model', 'env'), node('package', 'env', 'model'), node('deploy', 'package'), node('clean')];

  it('orders dependencies first, each task once', () => {
    assert.deepEqual(names(analyzeGraph(builtins, ['deploy'])), ['env', 'model', 'package', 'deploy']);
    assert.deepEqual(names(analyzeGraph(builtins, ['model', 'package', 'env'])), ['env', 'model', 'package']);
  });

  it('keeps only what was asked for and its dependencies', () => {
    assert.deepEqual(names(analyzeGraph(builtins, ['clean'])), ['clean']);
  });

  it('names a cycle as a path', () => {
    const nodes = [node('a', 'b'), node('b', 'c'), node('c', 'a')];
    assert.throws(() => analyzeGraph(nodes, ['a']), (e: unknown) => e instanceof UsageError && e.code === 'CYCLE' && e.message.includes('a -> b -> c -> a'));
  });

  it('finds a cycle outside the requested tasks before anything runs', () => {
    const nodes = [node('ok'), node('x', 'y'), node('y', 'x')];
    assert.throws(() => analyzeGraph(nodes, ['ok']), /x -> y -> x/);
  });

  it('rejects a self-dependency', () => {
    assert.throws(() => analyzeGraph([node('a', 'a')], ['a']), /a -> a/);
  });

  it('rejects an unknown task with a suggestion, exit code 2', () => {
    assert.throws(
      () => analyzeGraph(builtins, ['deplyo']),
      (e: unknown) => e instanceof UsageError && exitCodeOf(e) === 2 && /Did you mean "deploy"/.test(e.message),
    );
  });

  it('rejects an unknown dependency', () => {
    assert.throws(() => analyzeGraph([node('a', 'nope')], ['a']), (e: unknown) => e instanceof UsageError && e.code === 'UNKNOWN_DEPENDENCY');
  });
});

describe('closestName', () => {
  it('suggests near names only', () => {
    assert.equal(closestName('modle', ['env', 'model', 'package']), 'model');
    assert.equal(closestName('zzzzzzzz', ['env', 'model']), undefined);
  });
});
