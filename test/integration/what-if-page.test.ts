import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { runPipe, startPipe, until, type PipeResult } from '../support/cli.js';
import { makeExampleProject } from '../support/example-project.js';
import type { BinaryPrediction } from '../support/predictions.js';

/**
 * The what-if page (handler/what_if.html) in a real browser: Debian's Chromium driven by
 * playwright-core, against the example model packaged and served by the real CLI (`pipe serve`).
 * Every request the browser makes is intercepted: only the served function's origin is let through.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Screenshots land here (CI may collect the directory); a temporary directory by default. */
const OUTPUT_DIR = process.env.PIPE_TEST_OUTPUT ?? path.join(os.tmpdir(), 'pipe-test-output');
const LATE = 'NumberOfTimes90DaysLate';

const skipReason = process.env.CI === 'true' || existsSync(CHROMIUM)
  ? undefined
  : `no browser at ${CHROMIUM}; scripts/ensure-chromium.sh installs it as root`;

interface Card {
  name: string;
  positive_class: number;
  target: string;
  reference: { description: string; rows: number; threshold: number };
  features: { name: string; type: string; missing: string }[];
  example_request: Record<string, number | null>;
  shap_output: string;
}
type Prediction = BinaryPrediction & { reasons?: { feature: string; text: string }[] };

/** A chart bar as the page drew it: its data attributes and its geometry in the SVG's units. */
interface Bar {
  feature: string;
  shap: number;
  x: number;
  width: number;
  title: string;
}

const percent = (p: number) => new Intl.NumberFormat('en', { style: 'percent', maximumSignificantDigits: 3 }).format(p);

describe(skipReason ? `what-if page in a browser (skipped: ${skipReason})` : 'what-if page in a browser', { skip: skipReason }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let serve: ReturnType<typeof startPipe> | undefined;
  let url: string;
  // The same table explained in probability, whose page reads in percentages and points.
  let inPoints: { dir: string; cleanup: () => Promise<void>; serve?: ReturnType<typeof startPipe>; url?: string } | undefined;
  let card: Card;
  let browser: Browser;
  let context: BrowserContext;
  const foreign: string[] = [];
  const served: string[] = [];

  before(async () => {
    ({ dir, cleanup } = await makeExampleProject({
      app: 'what-if-page',
      runtime: 'python3.11',
      runner: 'local',
      buildEnv: { PIP_RETRIES: '0' },
      model: {
        seed: 3,
        hyperparameters: { n_estimators: 12, max_depth: 5, max_leaf_nodes: 20 },
        constraints: { age: { integer: true, min: 18, max: 120 } },
        // Explained against applicants approved just below a 30% cutoff, as a lender would choose.
        decision: { threshold: 0.3 },
        reference: { from: 'near-cutoff', size: 60, band: 0.1 },
      },
    }, { sharedEnv: true }));
    inPoints = await makeExampleProject({
      app: 'what-if-points',
      runtime: 'python3.11',
      runner: 'local',
      buildEnv: { PIP_RETRIES: '0' },
      model: { seed: 3, hyperparameters: { n_estimators: 12, max_depth: 5, max_leaf_nodes: 20 }, decision: { threshold: 0.3 },
        reference: { from: 'training', size: 40 }, shapOutput: 'probability' },
    }, { sharedEnv: true });
    ({ serve, url } = await packageAndServe(dir));
    ({ serve: inPoints.serve, url: inPoints.url } = await packageAndServe(inPoints.dir));
    card = (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as Card;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(30_000);
    const origins = [url, inPoints.url!].map((u) => new URL(u).origin);
    await context.route('**/*', (route) => {
      const target = route.request().url();
      if (!origins.includes(new URL(target).origin)) {
        foreign.push(target);
        return route.abort('blockedbyclient');
      }
      served.push(`${route.request().method()} ${new URL(target).pathname}`);
      return route.continue();
    });
  });

  after(async () => {
    await browser?.close();
    for (const served of [serve, inPoints?.serve]) {
      if (!served) continue;
      served.child.kill('SIGINT');
      const stopped: PipeResult = await served.done;
      assert.equal(stopped.code, 130, stopped.stderr);
    }
    await cleanup?.();
    await inPoints?.cleanup();
  });

  async function packageAndServe(project: string): Promise<{ serve: ReturnType<typeof startPipe>; url: string }> {
    const packaged = await runPipe(['package'], { cwd: project });
    assert.equal(packaged.code, 0, packaged.stdout + packaged.stderr);
    const served = startPipe(['serve', '--port', '0'], { cwd: project });
    let stdout = '';
    served.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(stdout), 60_000, 'the served URL');
    return { serve: served, url: `${/http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0]}/` };
  }

  /** A new tab that records its console errors and uncaught exceptions. */
  async function openPage(): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, errors };
  }

  async function predict(record: Record<string, unknown>): Promise<Prediction> {
    const res = await fetch(new URL('predict', url), { method: 'POST', body: JSON.stringify(record), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { predictions: Prediction[] }).predictions[0]!;
  }

  /** Waits until the page shows the answer for `record` and nothing is in flight. */
  async function shownFor(page: Page, record: Record<string, unknown>): Promise<void> {
    await page.waitForFunction((want) => {
      const result = document.getElementById('result')!;
      const shown = JSON.parse(result.dataset.record ?? 'null') as Record<string, unknown> | null;
      return result.getAttribute('aria-busy') === 'false' && shown !== null
        && Object.keys(shown).length === Object.keys(want).length && Object.keys(want).every((k) => shown[k] === want[k]);
    }, record);
  }

  const readBars = (page: Page): Promise<{ bars: Bar[]; base: number; output: number; axis: string }> =>
    page.evaluate(() => {
      const bars = [...document.querySelectorAll<SVGRectElement>('#chart rect[data-feature]')].map((r) => ({
        feature: r.dataset.feature!,
        shap: Number(r.dataset.shap),
        x: r.getBBox().x,
        width: r.getBBox().width,
        title: r.querySelector('title')?.textContent ?? '',
      }));
      // No helper functions in here: tsx's esbuild would wrap them in a __name() the page does not have.
      const [base, output] = ['base-marker', 'output-marker'].map((id) => Number(document.getElementById(id)!.getAttribute('x1')));
      return { bars, base: base!, output: output!, axis: document.getElementById('axis-label')!.textContent ?? '' };
    });

  /**
   * The chart is the API's own answer: one bar per feature with its SHAP value, largest first, each
   * as long as |SHAP| on one shared scale, each starting where the previous ended (a waterfall from
   * the base value marker to the output marker).
   */
  async function assertChartMatches(page: Page, expected: Prediction): Promise<void> {
    const { bars, base, output, axis } = await readBars(page);
    assert.deepEqual(bars.map((b) => b.feature).sort(), Object.keys(expected.shap).sort());
    for (const b of bars) assert.equal(b.shap, expected.shap[b.feature], `data-shap of ${b.feature}`);
    const magnitudes = bars.map((b) => Math.abs(b.shap));
    assert.deepEqual(magnitudes, [...magnitudes].sort((a, b) => b - a), 'bars sorted by |SHAP|, largest first');
    const largest = bars[0]!;
    const scale = largest.width / Math.abs(expected.shap[largest.feature]!);
    assert.ok(scale > 0, 'the largest bar has a length');
    for (const b of bars) {
      const want = Math.abs(expected.shap[b.feature]!) * scale;
      assert.ok(Math.abs(b.width - want) <= 0.01 * want + 1e-9, `${b.feature}: width ${b.width}, want ${want} (|SHAP| on the shared scale)`);
      assert.ok(b.title.startsWith(`${b.feature} = `) && /: [+−±]/.test(b.title), `${b.feature}: a <title> with its name and signed value: ${b.title}`);
    }
    let end = base;
    for (const b of bars) {
      const [from, to] = b.shap >= 0 ? [b.x, b.x + b.width] : [b.x + b.width, b.x];
      assert.ok(Math.abs(from - end) < 0.01, `${b.feature} starts where the previous bar ended`);
      end = to;
    }
    assert.ok(Math.abs(end - output) < 0.01, 'the last bar ends at the output marker');
    const space = card.shap_output === 'log_odds' ? (q: number) => Math.log(q / (1 - q)) : (q: number) => q;
    const drawn = (output - base) / scale;
    const want = space(expected.probability) - expected.base_value;
    assert.ok(Math.abs(drawn - want) <= 1e-3 * Math.abs(want) + 1e-9, `output - base drawn as ${drawn}, the API's is ${want}`);
    assert.match(axis, new RegExp(card.shap_output), 'the axis names the SHAP space');
  }

  async function assertResultMatches(page: Page, expected: Prediction): Promise<void> {
    assert.equal(await page.textContent('#probability'), percent(expected.probability));
    assert.equal(await page.textContent('#decision'), expected.decision);
    await assertChartMatches(page, expected);
    const reasons = await page.locator('#reasons li').allTextContents();
    if (expected.reasons) {
      assert.equal(reasons.length, expected.reasons.length);
      expected.reasons.forEach((r, i) => assert.ok(reasons[i]!.endsWith(r.text), `reason ${i}: ${reasons[i]} ends with ${r.text}`));
    } else {
      // Only while the function answers without `reasons`: the page names the largest contributions.
      assert.ok(reasons.length > 0, 'reasons in words');
    }
  }

  let main: { page: Page; errors: string[] };

  it('serves itself to a browser as HTML under a CSP that allows only its own origin', async () => {
    main = await openPage();
    const response = await main.page.goto(url);
    assert.equal(response?.status(), 200);
    const headers = response!.headers();
    assert.match(headers['content-type'] ?? '', /^text\/html/);
    assert.match(headers['content-security-policy'] ?? '', /default-src 'none'.*connect-src 'self'/);
    const html = await response!.text();
    assert.ok(Buffer.byteLength(html) < 30_000, `the page is ${Buffer.byteLength(html)} bytes`);
    assert.equal(html, await readFile(path.join(dir, 'handler/what_if.html'), 'utf8'), 'served as is');
  });

  it('builds a labelled field per feature, prefilled with the example, and explains it on load', async () => {
    const { page } = main;
    await shownFor(page, card.example_request);
    assert.equal(await page.locator('#fields input[type=number], #fields select').count(), card.features.length);
    for (const f of card.features) {
      const field = page.getByLabel(f.name, { exact: true });
      assert.equal(await field.inputValue(), String(card.example_request[f.name]), `${f.name} prefilled`);
      assert.equal(await page.getByLabel(`${f.name} missing`, { exact: true }).count(), f.missing === 'required' ? 0 : 1, `${f.name}: a way to send it missing`);
    }
    assert.equal(await page.textContent('h1'), card.name);
    await assertResultMatches(page, await predict(card.example_request));

    const chart = page.locator('#chart svg');
    assert.equal(await chart.getAttribute('role'), 'img');
    assert.match((await page.textContent('#chart-title')) ?? '', /SHAP/);
    assert.match((await page.textContent('#chart-desc')) ?? '', /base value .* ends at/);
    // What the explanation is measured against, and of which class the probability is.
    assert.match(card.reference.description, /^(60 training rows scored within 10 points|the 60 training rows scored nearest) below the 30% cutoff \(approve\)/);
    assert.equal(await page.textContent('#measured-against'), `Measured against ${card.reference.description}.`);
    assert.ok(((await page.textContent('#chart-desc')) ?? '').includes(`(the model's average over ${card.reference.description})`));
    assert.match((await page.textContent('#headline')) ?? '', new RegExp(`^Probability that ${card.target} is ${card.positive_class}: `));
    assert.match((await page.textContent('#meta')) ?? '', new RegExp(`validation_positive_rate [0-9.]+ \\(${card.target} is ${card.positive_class}\\)`));
    const stripedUp = await page.locator('#chart rect.bar.up').first().getAttribute('fill');
    const solidDown = await page.locator('#chart rect.bar.down').first().getAttribute('fill');
    assert.notEqual(stripedUp, solidDown, 'raising and lowering bars differ by more than a colour: a pattern');
    assert.match(stripedUp ?? '', /^url\(#/);

    await mkdir(OUTPUT_DIR, { recursive: true });
    const shot = path.join(OUTPUT_DIR, 'what-if-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await stat(shot)).size > 10_000, `a screenshot at ${shot}`);
  });

  it('follows a changed value: the latest answer wins and the old result stays until it arrives', async () => {
    const { page } = main;
    const before = await page.textContent('#probability');
    const held: Route[] = [];
    let hold = true;
    await page.route('**/predict', (route) => (hold ? held.push(route) : route.fallback()));
    const answers = async () => Number(await page.locator('#result').getAttribute('data-answers'));
    const answered = await answers();

    const late = page.getByLabel(LATE, { exact: true });
    await late.fill('1');
    await until(() => held.length === 1, 10_000, 'the request for NumberOfTimes90DaysLate = 1');
    assert.equal(await page.getAttribute('#result', 'aria-busy'), 'true');
    assert.equal(await page.textContent('#probability'), before, 'the previous result stays while one is in flight');
    assert.equal(await page.locator('#chart rect[data-feature]').count(), card.features.length);

    hold = false;
    await late.fill('3');
    const record = { ...card.example_request, [LATE]: 3 };
    await shownFor(page, record);
    await held[0]!.fallback();
    await page.waitForFunction((n) => Number(document.getElementById('result')!.dataset.answers) === n, answered + 2);
    await page.unroute('**/predict');
    const shown = JSON.parse((await page.getAttribute('#result', 'data-record')) ?? 'null') as Record<string, unknown>;
    assert.equal(shown[LATE], 3, 'the late answer for the older value did not replace the latest one');
    const expected = await predict(record);
    assert.notEqual(expected.probability, (await predict(card.example_request)).probability, 'the model reacts to late payments');
    assert.notEqual(await page.textContent('#probability'), before);
    await assertResultMatches(page, expected);
  });

  it('sends a feature ticked "missing" as null', async () => {
    const { page } = main;
    const income = page.getByLabel('MonthlyIncome missing', { exact: true });
    await income.check();
    const record = { ...card.example_request, [LATE]: 3, MonthlyIncome: null };
    await shownFor(page, record);
    assert.equal(await page.getByLabel('MonthlyIncome', { exact: true }).isDisabled(), true);
    await assertResultMatches(page, await predict(record));
    assert.match((await page.locator('#chart text', { hasText: /^MonthlyIncome = / }).textContent()) ?? '', /= missing/);
    await income.uncheck();
    await shownFor(page, { ...card.example_request, [LATE]: 3 });
  });

  it('shows a missing category as no choice, and sends the first once it is unticked', async () => {
    const { page, errors } = await openPage();
    // The example has no categorical column: its card is served with one whose example value is missing,
    // and the function is asked without it.
    const housing = { name: 'Housing', type: 'category', categories: ['own', 'rent', 'free'], missing: 'impute',
      missing_means: "null is replaced by 'rent' (from the training data) and listed in the record's 'imputed'" };
    await page.route(url, async (route) => {
      if (!(route.request().headers().accept ?? '').includes('application/json')) return route.fallback();
      const response = await route.fetch();
      const served = (await response.json()) as Card;
      return route.fulfill({ response, json: { ...served, features: [...served.features, housing],
        example_request: { ...served.example_request, Housing: null } } });
    });
    const sent: unknown[] = [];
    await page.route('**/predict', (route) => {
      const { Housing, ...rest } = route.request().postDataJSON() as Record<string, unknown>;
      sent.push(Housing);
      return route.continue({ postData: JSON.stringify(rest) });
    });
    await page.goto(url);
    await shownFor(page, { ...card.example_request, Housing: null });
    const field = page.getByLabel('Housing', { exact: true });
    assert.deepEqual(await field.evaluate((s) => [(s as HTMLSelectElement).selectedIndex, (s as HTMLSelectElement).disabled]), [-1, true],
      'no category shown for a missing value, not the list\'s first');
    await page.getByLabel('Housing missing', { exact: true }).uncheck();
    await shownFor(page, { ...card.example_request, Housing: 'own' });
    assert.equal(await field.evaluate((s) => (s as HTMLSelectElement).selectedOptions[0]?.text), 'own', 'the choice sent is the one shown');
    assert.deepEqual(sent, [null, 'own']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('writes a value as the reasons do: whole from 1000, grouped from 10,000', async () => {
    const { page } = main;
    const label = () => page.locator('#chart text', { hasText: /^MonthlyIncome = / }).textContent();
    const income = card.example_request['MonthlyIncome'];
    assert.ok(typeof income === 'number' && income >= 1000 && income < 10000 && Number.isInteger(income), `the example's income: ${income}`);
    assert.equal(await label(), `MonthlyIncome = ${income}`);
    const field = page.getByLabel('MonthlyIncome', { exact: true });
    await field.fill('12500.4');
    await shownFor(page, { ...card.example_request, [LATE]: 3, MonthlyIncome: 12500.4 });
    assert.equal(await label(), 'MonthlyIncome = 12,500');
    await field.fill(String(income));
    await shownFor(page, { ...card.example_request, [LATE]: 3 });
  });

  it("shows a value outside the card's constraints next to its field, without asking the function", async () => {
    const { page } = main;
    const predictions = () => served.filter((s) => s === 'POST /predict').length;
    const sent = predictions();
    const age = page.getByLabel('age', { exact: true });
    await age.fill('5');
    const error = page.locator(`#${await age.getAttribute('id')}-err`);
    await error.filter({ hasText: /at least 18/ }).waitFor();
    assert.equal(await age.getAttribute('aria-invalid'), 'true');
    assert.match((await age.getAttribute('aria-describedby')) ?? '', new RegExp(`${await error.getAttribute('id')}`));
    assert.equal(predictions(), sent, 'no request for an invalid record');
    // The page still shows the answer for this same record: wait for the new request's answer.
    await age.fill(String(card.example_request.age));
    await until(() => predictions() === sent + 1, 10_000, 'the request for the corrected age');
    await shownFor(page, { ...card.example_request, [LATE]: 3 });
    assert.equal(await error.textContent(), '');
    assert.equal(await age.getAttribute('aria-invalid'), null);
  });

  it('is usable from the keyboard: Tab reaches the first field, with a visible focus ring', async () => {
    const { page, errors } = await openPage();
    await page.goto(url);
    await shownFor(page, card.example_request);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement;
      const style = getComputedStyle(el);
      return { label: el.labels?.[0]?.textContent, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    assert.equal(focused.label, card.features[0]!.name);
    assert.notEqual(focused.outline, 'none');
    assert.ok(focused.width >= 2, `outline ${focused.width}px`);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('0.9');
    await shownFor(page, { ...card.example_request, [card.features[0]!.name]: 0.9 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("puts the function's 4xx message next to the field it names, and explains a 403 (signed URL)", async () => {
    const rejected = await openPage();
    const message = 'DebtRatio is out of range (record 0)';
    await rejected.page.route('**/predict', (route) =>
      route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'invalid_value', message, field: 'DebtRatio' } }) }));
    await rejected.page.goto(url);
    const debt = rejected.page.getByLabel('DebtRatio', { exact: true });
    await rejected.page.locator(`#${await debt.getAttribute('id')}-err`).filter({ hasText: message }).waitFor();
    assert.equal(await debt.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(rejected.errors.filter((e) => !/status of 400/.test(e)), [], 'only the browser\'s own note of the 400');
    await rejected.page.close();

    const forbidden = await openPage();
    await forbidden.page.route('**/predict', (route) => route.fulfill({ status: 403, contentType: 'application/json', body: '{"Message":"Forbidden"}' }));
    await forbidden.page.goto(url);
    await forbidden.page.locator('#problem', { hasText: /signed/ }).waitFor();
    assert.match((await forbidden.page.textContent('#problem')) ?? '', /AWS_IAM.*npx pipe invoke --deployed/);
    await forbidden.page.close();
  });

  it('shows the fairness report of the card in a collapsed section, every number said of what', async () => {
    const { page, errors } = await openPage();
    // The example model has no group columns: its card is served with the section a model.fairness build writes.
    const fairness = {
      split: 'validation', rows: 180, min_rows: 30, favourable: 'approve', threshold: 0.3, four_fifths: 0.8, score: 'probability of 1', positive_class: 1,
      groups: { 'Marital status': { control: 'married', control_chosen: 'highest approval rate', values: [
        { group: 'married', rows: 90, small: false, approval_rate: 0.8, air: 1, smd: 0, observed_positive_rate: 0.1, predicted_positive_rate: 0.12, flagged: false },
        { group: 'single', rows: 70, small: false, approval_rate: 0.6, air: 0.75, smd: 0.41, observed_positive_rate: 0.2, predicted_positive_rate: 0.22, flagged: true },
        { group: 'widowed', rows: 20, small: true, approval_rate: 0.5, air: 0.625, smd: 0.5, observed_positive_rate: 0.3, predicted_positive_rate: 0.3, flagged: false },
      ] } },
      flagged: ['Marital status=single'],
    };
    await page.route(url, async (route) => {
      if (!(route.request().headers().accept ?? '').includes('application/json')) return route.fallback();
      const response = await route.fetch();
      return route.fulfill({ response, json: { ...(await response.json()), fairness } });
    });
    await page.goto(url);
    await shownFor(page, card.example_request);
    const section = page.locator('#fairness');
    assert.equal(await section.isVisible(), true);
    assert.equal(await section.evaluate((d) => (d as HTMLDetailsElement).open), false, 'collapsed until asked');
    assert.equal(await page.locator('#fairness-summary').textContent(), 'Fairness when the model was built: 1 group flagged');
    await page.locator('#fairness-summary').click();
    assert.match((await page.locator('#fairness-note').textContent())!, /Approval is the decision “approve” \(probability of 1 below the cutoff 0\.3\)\. AIR is a group's approval rate divided by its control group's, flagged below 0\.8/);
    assert.equal(await page.locator('#fairness caption').textContent(), 'Marital status: compared with married (highest approval rate)');
    const rows = await page.locator('#fairness tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.deepEqual(rows[1], ['single (flagged)', '70', '60%', '0.750', '+0.410', '20%', '22%']);
    assert.equal(rows[2]![0], 'widowed (under 30 rows)');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('in probability, gives levels in percent and SHAP values in points, as the reasons do', async () => {
    const { page, errors } = await openPage();
    const home = inPoints!.url!;
    const probabilityCard = (await (await fetch(home, { headers: { accept: 'application/json' } })).json()) as Card;
    assert.equal(probabilityCard.shap_output, 'probability');
    await page.goto(home);
    await shownFor(page, probabilityCard.example_request);
    const res = await fetch(new URL('predict', home), { method: 'POST', body: JSON.stringify(probabilityCard.example_request), headers: { 'content-type': 'application/json' } });
    const expected = ((await res.json()) as { predictions: (Prediction & { reasons: { feature: string; contribution: number; text: string }[] })[] }).predictions[0]!;
    const cells = new Map((await page.locator('#table tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('th')!.textContent!, r.querySelectorAll('td')[1]!.textContent!]))) as [string, string][]);
    for (const value of cells.values()) assert.match(value, /^[+−±]\d[\d.]* points$/);
    assert.ok(expected.reasons.length > 0);
    for (const r of expected.reasons) {
      const said = / by (\d[\d.]*) points$/.exec(r.text);
      assert.ok(said, `the reason says points: ${r.text}`);
      assert.equal(cells.get(r.feature), `${r.contribution >= 0 ? '+' : '−'}${said[1]} points`, `${r.feature}: the table reads as the reason`);
    }
    const title = (id: string) => page.locator(`#${id} title`).textContent();
    assert.equal(await title('base-marker'), `base value ${percent(expected.base_value)}`);
    assert.equal(await title('output-marker'), `output ${percent(expected.probability)}`);
    const ticks = await page.locator('#chart .axis text:not(#axis-label)').allTextContents();
    assert.ok(ticks.length >= 2 && ticks.every((t) => /^\d+(\.\d+)?%$/.test(t)), `axis ticks in percent: ${ticks.join(' ')}`);
    assert.match((await page.textContent('#chart-desc')) ?? '', new RegExp(`^Starts at the base value ${percent(expected.base_value)} .* points`));
    await page.close();
    assert.deepEqual(errors, []);
  });

  it('made no request to any other host and logged no console error', () => {
    assert.ok(served.includes('GET /') && served.includes('POST /predict'), served.join(', '));
    assert.deepEqual(foreign, []);
    assert.deepEqual(main.errors, []);
  });
});
