import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDecisionLine, type DecisionLine } from '../../src/audit/decision-line.js';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in/index.js';
import { runPipe, startPipe, until } from '../support/cli.js';
import { makeExampleProject } from '../support/example-project.js';

/** A value no model, card or log would hold by chance: if it shows up, a record's value leaked. */
const RECOGNISABLE = 8765.4321;

const CONFIG = {
  app: 'credit-trail',
  runtime: 'python3.11',
  runner: 'local',
  buildEnv: { PIP_RETRIES: '0' },
  model: { seed: 3, hyperparameters: { n_estimators: 8, max_depth: 4 } },
};

interface Served {
  /** Everything serve printed. */
  output: string;
  /** The function's own log lines (its stdout and stderr), as Lambda would store them. */
  functionLines: string[];
  response: { predictions: { probability: number }[]; request_id?: string };
}

/**
 * Runs `pipe serve`, POSTs `records` to /predict and GET /health, stops it. The plain renderer prints
 * the function's log lines as `  serve ! <line>`.
 */
async function serveAndPredict(dir: string, records: unknown[]): Promise<Served> {
  const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
  let output = '';
  serve.child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  serve.child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let response: Served['response'];
  try {
    await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(output), 120_000, 'the served URL');
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output)![0];
    const res = await fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify(records), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    response = (await res.json()) as Served['response'];
    assert.equal((await fetch(`${url}/health`)).status, 200);
    await until(() => output.split('\n').filter((l) => l.includes('"pipe_audit"')).length >= records.length, 10_000, 'the decision lines');
  } finally {
    serve.child.kill('SIGINT');
    await serve.done;
  }
  const functionLines = output.split('\n').flatMap((l) => {
    const m = /^\s+serve ! (.*)$/.exec(l);
    return m ? [m[1]!] : [];
  });
  return { output, functionLines, response };
}

/** The example's held-out rows (artifacts/example_validation.csv) as records of the card's features. */
async function validationRecords(dir: string, features: string[]): Promise<Record<string, number | null>[]> {
  const [header, ...rows] = (await readFile(path.join(dir, 'artifacts/example_validation.csv'), 'utf8')).trim().split('\n');
  const columns = header!.split(',');
  return rows.map((row) => {
    const cells = row.split(',');
    return Object.fromEntries(features.map((f) => {
      const cell = cells[columns.indexOf(f)]!;
      return [f, cell === '' ? null : Number(cell)];
    }));
  });
}

/** Serves the project with `--trail FILE`, POSTs the records in requests of 100, and stops it. */
async function serveWithTrail(dir: string, trail: string, records: unknown[]): Promise<void> {
  const serve = startPipe(['serve', '--port', '0', '--trail', trail], { cwd: dir });
  let output = '';
  serve.child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  serve.child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  try {
    await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(output), 120_000, 'the served URL');
    assert.match(output, new RegExp(`Decisions are appended to ${trail}`));
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output)![0];
    for (let start = 0; start < records.length; start += 100) {
      const res = await fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify(records.slice(start, start + 100)), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200, await res.text());
    }
  } finally {
    serve.child.kill('SIGINT');
    assert.equal((await serve.done).code, 130, output);
  }
  assert.ok(!output.includes('"pipe_audit"'), 'decision lines go to the trail, not the terminal');
}

describe('the decision trail end to end: the real handler through pipe serve, read back by logs --decisions and audit', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let aws: AwsStandIn;
  let example: Record<string, number | null>;
  let version: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ({ dir, cleanup } = await makeExampleProject(CONFIG, { sharedEnv: true }));
    const r = await runPipe(['package'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as { example_request: Record<string, number>; version: string };
    example = card.example_request;
    version = card.version;
    aws = await startAwsStandIn();
    env = {
      ...aws.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
    };
  });
  after(async () => {
    await aws?.close();
    await cleanup?.();
  });

  it('with audit.log "decisions": one line per record, parsed back from the log; the record\'s values appear nowhere', async () => {
    const records = [example, { ...example, MonthlyIncome: RECOGNISABLE }];
    const served = await serveAndPredict(dir, records);
    const decisions = served.functionLines.map(parseDecisionLine).filter((d): d is DecisionLine => d !== undefined);
    assert.equal(decisions.length, 2, served.functionLines.join('\n'));
    assert.deepEqual(decisions.map((d) => d.record), [0, 1]);
    assert.ok(decisions.every((d) => d.model_version === version && d.task === 'binary' && d.values === undefined));
    assert.equal(decisions[1]!.output.probability, served.response.predictions[1]!.probability);
    assert.notEqual(decisions[0]!.input_sha256, decisions[1]!.input_sha256);
    assert.ok(!served.output.includes(String(RECOGNISABLE)), `the value was printed:\n${served.output}`);

    // What Lambda would store: the function's lines, between its own START/END/REPORT lines.
    aws.state.appendFunctionLogs('credit-trail-dev', ['START RequestId: r1 Version: 1', ...served.functionLines, 'END RequestId: r1', 'REPORT RequestId: r1\tDuration: 4.00 ms']);
    const listed = await runPipe(['logs', '--decisions', '--json'], { cwd: dir, env });
    assert.equal(listed.code, 0, listed.stderr + listed.stdout);
    const logged = (JSON.parse(listed.stdout) as { output: string[] }).output.map((l) => parseDecisionLine(l)!);
    assert.deepEqual(logged, decisions);
    const table = await runPipe(['logs', '--decisions'], { cwd: dir, env });
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.split('\n').filter((l) => l.includes(version)).length, 2, table.stdout);

    const exported = await runPipe(['audit', '--since', '1h', '--out', 'trail.csv'], { cwd: dir, env });
    assert.equal(exported.code, 0, exported.stderr + exported.stdout);
    const csv = await readFile(path.join(dir, 'trail.csv'), 'utf8');
    assert.equal(csv.split('\r\n').filter(Boolean).length, 3);
    const everything = [served.output, ...[...aws.state.logGroups.values()].flatMap((g) => [...g.streams.values()].flat().map((e) => e.message)), csv].join('\n');
    assert.ok(!everything.includes(String(RECOGNISABLE)), 'no trace of the value in the logs or the export');
  });

  it('pipe serve --trail gathers the decisions; pipe monitor finds held-out rows stable, and the same rows with one feature shifted shifted, naming it', async () => {
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as { features: { name: string }[] };
    const records = (await validationRecords(dir, card.features.map((f) => f.name))).slice(0, 1500);
    await serveWithTrail(dir, 'now.jsonl', records);
    const trail = (await readFile(path.join(dir, 'now.jsonl'), 'utf8')).trim().split('\n').map((l) => parseDecisionLine(l)!);
    assert.equal(trail.length, records.length);
    assert.deepEqual(trail[0]!.missing, Object.keys(records[0]!).filter((k) => records[0]![k] === null));

    const stable = await runPipe(['monitor', '--file', 'now.jsonl', '--json'], { cwd: dir });
    assert.equal(stable.code, 0, stable.stderr + stable.stdout);
    const data = (JSON.parse(stable.stdout) as { tasks: { name: string; data: { verdict: string; versions: { modelVersion: string; records: number; score: { psi: { value: number } } }[] } }[] }).tasks.find((t) => t.name === 'monitor')!.data;
    assert.equal(data.verdict, 'stable', stable.stdout);
    assert.deepEqual(data.versions.map((v) => [v.modelVersion, v.records]), [[version, records.length]]);
    assert.ok(data.versions[0]!.score.psi.value < 0.1);

    // An upstream feed that broke: every record's revolving utilization arrives as 0.
    await serveWithTrail(dir, 'shifted.jsonl', records.map((r) => ({ ...r, RevolvingUtilizationOfUnsecuredLines: 0 })));
    const shifted = await runPipe(['monitor', '--file', 'shifted.jsonl', '--fail-on', 'shifted', '--plot', 'drift.png'], { cwd: dir });
    assert.equal(shifted.code, 3, shifted.stderr + shifted.stdout);
    const verdict = shifted.stdout.split('\n').find((l) => l.includes('verdict: '))!;
    assert.match(verdict, /verdict: shifted: .*first reasons PSI/);
    assert.match(verdict, /: RevolvingUtilizationOfUnsecuredLines first in \d+\.\d% of decisions \(baseline \d+\.\d%, \+\d+\.\d points\)/);
    const png = await readFile(path.join(dir, 'drift.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.length > 10_000, 'a drawn plot, not an empty image');
    // The plot is not replaced without --force, and that is known before the trail is read.
    const again = await runPipe(['monitor', '--file', 'shifted.jsonl', '--plot', 'drift.png'], { cwd: dir });
    assert.equal(again.code, 2, again.stdout + again.stderr);
    assert.match(again.stderr, /--plot drift\.png already exists/);
    assert.ok(existsSync(path.join(dir, 'drift.png')));
  });

  it('with audit.log "full" the same record\'s values are in the line (so the check above can see a leak)', async () => {
    await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify({ ...CONFIG, audit: { log: 'full' } })};\n`);
    const served = await serveAndPredict(dir, [{ ...example, MonthlyIncome: RECOGNISABLE }]);
    const decisions = served.functionLines.map(parseDecisionLine).filter((d): d is DecisionLine => d !== undefined);
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.values?.['MonthlyIncome'], RECOGNISABLE);
    assert.ok(served.output.includes(String(RECOGNISABLE)));
  });
});
