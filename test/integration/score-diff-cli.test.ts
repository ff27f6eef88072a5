import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CREDIT_MODEL, creditCsv } from '../support/credit-table.js';
import { runPipe, startPipe, until } from '../support/cli.js';
import { startHarness, type Harness } from '../support/deploy-harness.js';
import { makeExampleProject } from '../support/example-project.js';

/**
 * pipe score and pipe diff through the real CLI on a good/bad credit table, as a lender runs them: a
 * portfolio scored with bad rows in it, the same table through a throttling Function URL, two models
 * compared on the held-out rows, and a release gate that stops a deploy before it writes anything.
 */

/** One CSV line's cells (quotes as RFC 4180 has them; no line breaks in these tables). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (out.push(cell), (cell = ''));
    else cell += c;
  }
  out.push(cell);
  return out;
}

const rowsOf = (text: string): string[][] => text.split(/\r?\n/).filter(Boolean).map(cells);

/** A column of a CSV, by its header. */
function column(table: string[][], name: string): string[] {
  const at = table[0]!.indexOf(name);
  assert.ok(at >= 0, `no column ${name} in ${table[0]!.join(', ')}`);
  return table.slice(1).map((r) => r[at]!);
}

interface Proxy {
  url: string;
  /** Batches answered 200 by the function, by request body. */
  answered: Map<string, number>;
  throttled: number;
  close(): Promise<void>;
}

/**
 * A Function URL in front of `target` that throttles: every second POST body gets 429 the first time
 * it is seen (Retry-After: 0), and the third distinct body a 503 once.
 */
async function throttlingProxy(target: string): Promise<Proxy> {
  const seen = new Map<string, number>();
  const answered = new Map<string, number>();
  let posts = 0;
  let throttled = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const key = body.toString('utf8');
      if (req.method === 'POST') {
        const times = (seen.get(key) ?? 0) + 1;
        seen.set(key, times);
        if (times === 1) posts += 1;
        if (times === 1 && (posts % 2 === 0 || posts === 3)) {
          throttled += 1;
          const status = posts === 3 ? 503 : 429;
          res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' });
          res.end(JSON.stringify({ Reason: status === 429 ? 'ConcurrentInvocationLimitExceeded' : 'ServiceUnavailable' }));
          return;
        }
      }
      const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          if (req.method === 'POST' && answer.statusCode === 200) answered.set(key, (answered.get(key) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered,
    get throttled() {
      return throttled;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('pipe score and pipe diff on a good/bad credit table, through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const model = { ...CREDIT_MODEL, positiveClass: 'bad' };
  const configWith = (extra: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    app: 'credit-score', runtime: 'python3.11', runner: 'local', buildEnv: { PIP_RETRIES: '0' }, model: { ...model, ...extra }, ...more,
  });
  const writeConfig = (extra: Record<string, unknown>, more: Record<string, unknown> = {}) =>
    writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(configWith(extra, more), null, 2)};\n`);
  let portfolio: string;

  before(async () => {
    ({ dir, cleanup } = await makeExampleProject(configWith({}), { sharedEnv: true }));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'german credit.csv'), creditCsv(1500));
    const built = await runPipe(['package'], { cwd: dir });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    // A portfolio: the table's rows, an unseen purpose in row 3 and a word for an age in row 7.
    const lines = creditCsv(1100).trimEnd().split('\n');
    lines[3] = lines[3]!.replace(/,(car \(new\)|car \(used\)|furniture\/equipment|radio\/television|education|business),/, ',hovercraft,');
    lines[7] = lines[7]!.replace(/^(([^,]*,){6})\d+,/, '$1forty,');
    portfolio = path.join(dir, 'portfolio.csv');
    await writeFile(portfolio, `${lines.join('\n')}\n`);
  });
  after(() => cleanup());

  it('scores every row in order, in more than one batch; refused rows keep their place and their message', async () => {
    const r = await runPipe(['score', '--data', portfolio, '--out', 'scored.csv', '--keep', 'Application No.', '--chunk', '250'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const table = rowsOf(await readFile(path.join(dir, 'scored.csv'), 'utf8'));
    const input = rowsOf(await readFile(portfolio, 'utf8'));
    assert.equal(table.length, input.length, 'one output row per input row');
    assert.deepEqual(column(table, 'Application No.'), column(input, 'Application No.'));
    const header = table[0]!;
    assert.deepEqual(header.slice(1, 4), ['probability_bad', 'decision', 'base_value']);
    assert.ok(header.includes('shap_Checking account') && header.includes('reason_1_text') && !header.includes('Status'));
    const errors = column(table, 'error');
    assert.match(errors[2]!, /Purpose has the unknown category "hovercraft"/);
    assert.match(errors[6]!, /Age \(years\) must be a number/);
    assert.equal(errors.filter(Boolean).length, 2);
    assert.equal(column(table, 'decision')[2], '', 'a refused row has no answer');
    for (const [p, d] of column(table, 'probability_bad').map((p, i) => [Number(p), column(table, 'decision')[i]] as const)) {
      if (d) assert.equal(d, p >= 0.35 ? 'decline' : 'approve');
    }
    assert.match(r.stdout + r.stderr, /2 of 1100 rows refused/);
    assert.match(r.stdout + r.stderr, /1 x Purpose has the unknown category "hovercraft"/);

    const again = await runPipe(['score', '--data', portfolio, '--out', 'scored.csv'], { cwd: dir });
    assert.equal(again.code, 2, again.stdout + again.stderr);
    assert.match(again.stderr, /--out scored\.csv already exists/);

    const cut = (await readFile(portfolio, 'utf8')).split('\n').map((l) => (l ? cells(l).filter((_, i) => i !== 5).join(',') : l)).join('\n');
    await writeFile(path.join(dir, 'no-purpose.csv'), cut.replace('Installment rate (% of income)', '"Installment rate (% of income)"'));
    const missing = await runPipe(['score', '--data', 'no-purpose.csv', '--out', 'none.csv'], { cwd: dir });
    assert.equal(missing.code, 2, missing.stdout + missing.stderr);
    assert.match(missing.stderr, /lacks the feature column 'Purpose'/);
    assert.ok(!existsSync(path.join(dir, 'none.csv')));
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('none.csv')), [], 'no staging file left');
  });

  it('through a Function URL that throttles: the same bytes as a local score, every batch answered once', async () => {
    const local = await runPipe(['score', '--data', portfolio, '--out', 'local.jsonl', '--chunk', '100'], { cwd: dir });
    assert.equal(local.code, 0, local.stdout + local.stderr);
    const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
    let proxy: Proxy | undefined;
    try {
      const state = path.join(dir, 'build/serve.json');
      await until(() => existsSync(state), 60_000, 'serve to start');
      const { url } = JSON.parse(await readFile(state, 'utf8')) as { url: string };
      proxy = await throttlingProxy(url);
      const r = await runPipe(['score', '--data', portfolio, '--out', 'remote.jsonl', '--chunk', '100', '--url', proxy.url, '--concurrency', '3'], { cwd: dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(proxy.throttled >= 5, `throttled ${proxy.throttled} times`);
      assert.match(r.stdout + r.stderr, /429 .*trying again/);
      assert.equal(proxy.answered.size, 11, '1100 rows in batches of 100');
      assert.deepEqual([...new Set(proxy.answered.values())], [1], 'no batch answered twice');
      assert.equal(await readFile(path.join(dir, 'remote.jsonl'), 'utf8'), await readFile(path.join(dir, 'local.jsonl'), 'utf8'));
    } finally {
      await proxy?.close();
      serve.child.kill('SIGINT');
      await serve.done;
    }
  });

  it('diff against an earlier package counts the flips that two scorings of the held-out rows show', async () => {
    await cp(path.join(dir, 'build/package'), path.join(dir, 'package-lightgbm'), { recursive: true });
    const index = await readFile(path.join(dir, 'artifacts/validation_index.csv'), 'utf8');
    const data = (await readFile(path.join(dir, 'data/german credit.csv'), 'utf8')).trimEnd().split('\n');
    const held = index.trim().split('\n').slice(1).map(Number);
    await writeFile(path.join(dir, 'held-out.csv'), `${[data[0], ...held.map((i) => data[i + 1])].join('\n')}\n`);
    const old = await runPipe(['score', '--data', 'held-out.csv', '--out', 'old.csv'], { cwd: dir });
    assert.equal(old.code, 0, old.stdout + old.stderr);

    await writeConfig({ estimator: 'random_forest', hyperparameters: { n_estimators: 30, max_depth: 4 } });
    const built = await runPipe(['package'], { cwd: dir });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assert.equal(await readFile(path.join(dir, 'artifacts/validation_index.csv'), 'utf8'), index, 'the same rows held out');
    const now = await runPipe(['score', '--data', 'held-out.csv', '--out', 'new.csv'], { cwd: dir });
    assert.equal(now.code, 0, now.stdout + now.stderr);
    const before = column(rowsOf(await readFile(path.join(dir, 'old.csv'), 'utf8')), 'decision');
    const after = column(rowsOf(await readFile(path.join(dir, 'new.csv'), 'utf8')), 'decision');
    const flips = (from: string, to: string) => before.filter((d, i) => d === from && after[i] === to).length;
    const expected = { up: flips('approve', 'decline'), down: flips('decline', 'approve') };
    assert.ok(expected.up + expected.down > 0, 'the two models disagree somewhere');

    const r = await runPipe(['diff', '--against', 'package-lightgbm', '--show', '3', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { tasks: { name: string; data?: { diff: DiffDoc } }[] };
    const diff = doc.tasks.find((t) => t.name === 'diff')!.data!.diff;
    assert.equal(diff.table.rows, held.length);
    assert.match(diff.table.source, /validation rows of data\/german credit\.csv/);
    const count = (from: string, to: string) => diff.scores.flips.find((f) => f.from === from && f.to === to)?.count ?? 0;
    assert.deepEqual({ up: count('approve', 'decline'), down: count('decline', 'approve') }, expected);
    assert.equal(diff.scores.agreement, 1 - (expected.up + expected.down) / held.length);
    const declines = (list: string[]) => list.filter((d) => d === 'decline').length / list.length;
    const rate = diff.scores.rates.find((x) => x.outcome === 'decline')!;
    assert.ok(Math.abs(rate.old - declines(before)) < 1e-12 && Math.abs(rate.new - declines(after)) < 1e-12);
    assert.equal(diff.scores.scoreIs, 'probability that Status is bad');
    assert.ok(['stable', 'watch', 'shifted'].includes(diff.scores.psi.reading));
    assert.equal(diff.scores.largest.length, 3);
    assert.ok(diff.card.some((c) => c.what === 'estimator' && c.old === 'lightgbm' && c.new === 'random_forest'), JSON.stringify(diff.card));
    assert.ok(diff.scores.meanAbsShap.every((f) => f.old !== undefined && f.new !== undefined));
  });

  describe('release.gate on AWS (stand-in)', () => {
    let aws: Harness;
    before(async () => {
      aws = await startHarness();
    });
    after(() => aws?.close());

    it('refuses a deploy that flips too many decisions before any write, and --accept-diff lets it through', async () => {
      const gate = { release: { gate: { maxFlipRate: 0.001 } } };
      await writeConfig({}, gate);
      const first = await runPipe(['deploy'], { cwd: dir });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout + first.stderr, /nothing live yet/);

      await writeConfig({ estimator: 'random_forest', hyperparameters: { n_estimators: 30, max_depth: 4 } }, gate);
      const writes = aws.standIn.state.writeCalls().length;
      const refused = await runPipe(['deploy'], { cwd: dir });
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stdout + refused.stderr, /release\.gate refused the change against live \(version 1\): \d+\.\d+% of \d+ decisions flip \(\d+ approve -> decline/);
      assert.match(refused.stdout + refused.stderr, /--accept-diff/);
      assert.equal(aws.standIn.state.writeCalls().length, writes, 'no write call');

      const accepted = await runPipe(['deploy', '--accept-diff'], { cwd: dir });
      assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
      assert.match(accepted.stdout + accepted.stderr, /accepted with --accept-diff/);
      assert.ok(aws.standIn.state.writeCalls().length > writes);

      // The live function scores the held-out rows as the local package does.
      const deployed = await runPipe(['score', '--deployed', '--data', 'held-out.csv', '--out', 'deployed.csv'], { cwd: dir });
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      assert.equal(await readFile(path.join(dir, 'deployed.csv'), 'utf8'), await readFile(path.join(dir, 'new.csv'), 'utf8'));
    });
  });
});

interface DiffDoc {
  table: { source: string; rows: number };
  card: { section: string; what: string; old: string; new: string }[];
  scores: {
    flips: { from: string; to: string; count: number }[];
    agreement: number;
    rates: { outcome: string; old: number; new: number }[];
    scoreIs: string;
    psi: { value: number; reading: string };
    largest: unknown[];
    meanAbsShap: { feature: string; old?: number; new?: number }[];
  };
}
