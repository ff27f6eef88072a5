import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../../src/graph/graph.js';
import { closestName } from '../../src/util/closest-name.js';
import { ConfigError, UsageError, exitCodeOf } from '../../src/errors.js';
import { checkUserTasks, userTaskIssues } from '../../src/graph/user-task-checks.js';

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

describe('userTaskIssues', () => {
  const BUILTIN = ['env', 'model', 'package', 'deploy', 'clean'];
  const messages = (tasks: Parameters<typeof userTaskIssues>[1]) => userTaskIssues(BUILTIN, tasks).map((i) => `${i.path} ${i.message}`);

  it('accepts commands and functions that depend on built-in and config tasks', () => {
    assert.deepEqual(messages({ lint: { command: 'ruff check .', dependencies: ['env'] }, report: { run: () => {}, dependencies: ['lint', 'model'] } }), []);
  });

  it('names a task that takes a built-in name, or has neither or both of command and run', () => {
    assert.deepEqual(messages({ env: { command: 'true' } }), ['tasks.env has the name of a built-in task; choose another name']);
    assert.deepEqual(messages({ t: {} }), ['tasks.t needs a "command" (shell command) or a "run" function']);
    assert.deepEqual(messages({ t: { command: 'a', run: () => {} } }), ['tasks.t has both "command" and "run"; keep one']);
  });

  it('names an unknown dependency by its key, with the closest task', () => {
    assert.deepEqual(messages({ lint: { command: 'x', dependencies: ['env', 'modle'] } }), [
      'tasks.lint.dependencies[1] is "modle", which is not a task; the tasks: env, model, package, deploy, clean, lint; did you mean "model"?',
    ]);
  });

  it('throws one config error naming the file, each key, exit code 2', () => {
    assert.throws(
      () => checkUserTasks(BUILTIN, { file: '/p/pipeline.config.ts', tasks: { env: { command: 'true' }, t: {} } }),
      (e: unknown) =>
        e instanceof ConfigError && exitCodeOf(e) === 2 && /^pipeline\.config\.ts: invalid configuration:\n {2}tasks\.env has the name of a built-in task.*\n {2}tasks\.t needs a "command"/.test(e.message),
    );
    checkUserTasks(BUILTIN, { file: '/p/pipeline.config.ts', tasks: { lint: { command: 'true' } } });
  });
});
