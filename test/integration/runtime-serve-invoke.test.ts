import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { exitCodeOf } from '../../src/errors.js';
import { type PackageManifest, writePackageManifest } from '../../src/packaging/package-manifest.js';
import { LocalRunner } from '../../src/runners/local-runner.js';
import type { StepReporter } from '../../src/reporter/reporter.js';
import type { TaskContext, TaskResult } from '../../src/task.js';
import { invokeTask } from '../../tasks/invoke.js';
import { serveTask } from '../../tasks/serve.js';

const fixtures = path.resolve('test/fixtures/runtime');

/** Zips a directory with Python's zipfile (entries relative to it). */
function zipDir(dir: string, zipPath: string): void {
  const script = 'import os,sys,zipfile\nz=zipfile.ZipFile(sys.argv[2],"w")\nfor r,_,fs in os.walk(sys.argv[1]):\n  for f in fs:\n    p=os.path.join(r,f); z.write(p, os.path.relpath(p, sys.argv[1]))\nz.close()';
  execFileSync('python3', ['-c', script, dir, zipPath]);
}

const reporter: StepReporter = {
  line: () => undefined,
  progress: () => undefined,
  step: () => reporter,
  done: () => undefined,
  fail: () => undefined,
};

function context(root: string, options: Record<string, unknown>, signal: AbortSignal, print: (text: string) => void): TaskContext {
  const config = resolveConfig({ app: 'demo' }, path.join(root, 'pipeline.config.ts'), undefined);
  return {
    name: 'test',
    config,
    root,
    options,
    reporter,
    signal,
    io: { interactive: false, confirm: async () => false, print },
    runner: async () => new LocalRunner(config),
    staging: (output) => output,
  };
}

async function invoke(root: string, options: Record<string, unknown>): Promise<{ printed: string; result?: TaskResult | void; error?: any }> {
  const printed: string[] = [];
  const ctx = context(root, options, new AbortController().signal, (t) => printed.push(t));
  try {
    const result = await invokeTask.run(ctx);
    return { printed: printed.join('\n'), result };
  } catch (error) {
    return { printed: printed.join('\n'), error };
  }
}

/** The manifest the package task would write for the fixture: its archives and the card's example request. */
async function fixtureManifest(root: string): Promise<PackageManifest> {
  const archive = async (file: string) => {
    const bytes = await readFile(path.join(root, 'build', 'package', file));
    return { file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, unzippedSize: bytes.length };
  };
  const card = JSON.parse(await readFile(path.join(fixtures, 'package', 'artifacts', 'model_card.json'), 'utf8')) as { example_request: unknown };
  const layer = await archive('layer.zip');
  return {
    function: await archive('function.zip'), layer: { ...layer, depsHash: layer.sha256 }, runtime: 'python3.12',
    architecture: 'x86_64', handler: 'app.handler', wheels: [], artifacts: ['model_card.json'], exampleRequest: card.example_request,
  };
}

describe('serve and invoke', () => {
  let root: string;
  let stop: AbortController;
  let serving: Promise<TaskResult | void>;
  let banner: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-serve-'));
    await mkdir(path.join(root, 'build', 'package'), { recursive: true });
    zipDir(path.join(fixtures, 'package'), path.join(root, 'build', 'package', 'function.zip'));
    zipDir(path.join(fixtures, 'layer'), path.join(root, 'build', 'package', 'layer.zip'));
    await writePackageManifest(path.join(root, 'build', 'package'), await fixtureManifest(root));
    stop = new AbortController();
    let printed!: (text: string) => void;
    const firstPrint = new Promise<string>((resolve) => (printed = resolve));
    serving = serveTask.run(context(root, { port: 0 }, stop.signal, (text) => printed(text)));
    banner = await Promise.race([firstPrint, serving.then(() => assert.fail('serve returned before printing'))]);
  });

  after(async () => {
    stop?.abort();
    await serving?.catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("prints the URL and a ready curl line with the package's example request", async () => {
    const state = JSON.parse(await readFile(path.join(root, 'build', 'serve.json'), 'utf8')) as { url: string; pid: number };
    assert.match(state.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(state.pid, process.pid);
    assert.ok(banner.includes(`at ${state.url}`), banner);
    assert.ok(banner.includes(`curl -s -X POST ${state.url}/predict -H 'content-type: application/json' -d '{"age":41,"note":"it'\\''s"}'`), banner);
    assert.ok(existsSync(path.join(root, 'build', 'serve', 'code', 'app.py')));
    assert.ok(existsSync(path.join(root, 'build', 'serve', 'layer', 'python', 'layer_mod.py')));
  });

  it('invoke --data posts JSON to /predict and prints the pretty response', async () => {
    const { printed, result, error } = await invoke(root, { data: '{"age": 41}' });
    assert.equal(error, undefined);
    assert.match(printed, /HTTP 200 OK/);
    assert.ok(printed.includes('"layer": "from the layer"'), printed);
    assert.ok(printed.includes('"method": "POST"'), printed);
    assert.match((result as TaskResult).summary ?? '', /^200 OK/);
  });

  it("invoke without a body POSTs the served package's example request to /predict", async () => {
    const { printed, error } = await invoke(root, {});
    assert.equal(error, undefined);
    assert.match(printed, /^POST http:\/\/127\.0\.0\.1:\d+\/predict\nHTTP 200/);
    assert.ok(printed.includes('"received": {\n    "age": 41,\n    "note": "it\'s"\n  }'), printed);
    const explicitGet = await invoke(root, { method: 'GET' });
    assert.match(explicitGet.printed, /^GET /, 'an explicit --method is kept');
  });

  it('invoke --file sends the file, and GET without a body', async () => {
    const file = path.join(root, 'request.json');
    await writeFile(file, '[{"age": 30}]');
    const posted = await invoke(root, { file: 'request.json' });
    assert.equal(posted.error, undefined);
    assert.ok(posted.printed.includes('"age": 30'), posted.printed);
    const got = await invoke(root, { path: '/' });
    assert.equal(got.error, undefined);
    assert.match(got.printed, /^GET /);
    assert.ok(got.printed.includes('"ok": true'), got.printed);
  });

  it('fails naming the status on a 4xx or 5xx answer, after printing it', async () => {
    const bad = await invoke(root, { data: 'not json' });
    assert.equal(bad.error?.code, 'INVOKE_HTTP_ERROR');
    assert.match(bad.error?.message, /400/);
    assert.equal(exitCodeOf(bad.error), 1);
    assert.ok(bad.printed.includes('body is not valid JSON'), bad.printed);
    const failed = await invoke(root, { path: '/boom', method: 'POST', data: '{}' });
    assert.match(failed.error?.message, /502/);
    assert.ok(failed.printed.includes('"Message": "Internal Server Error"'), failed.printed);
  });

  it('refuses a second serve while one is running', async () => {
    const second = serveTask.run(context(root, { port: 0 }, new AbortController().signal, () => undefined));
    await assert.rejects(second, (error: any) => error.code === 'SERVE_RUNNING' && /already running/.test(error.message));
  });

  it('rejects conflicting options', async () => {
    const both = await invoke(root, { data: '{}', file: 'x.json' });
    assert.equal(both.error?.code, 'INVOKE_BAD_OPTION');
  });

  it('stops on abort, removes serve.json, and then invoke says to run serve', async () => {
    const url = (JSON.parse(await readFile(path.join(root, 'build', 'serve.json'), 'utf8')) as { url: string }).url;
    stop.abort();
    const result = await serving;
    assert.equal((result as TaskResult).summary, `served at ${url}`);
    assert.equal(existsSync(path.join(root, 'build', 'serve.json')), false);
    const after = await invoke(root, { data: '{}' });
    assert.equal(after.error?.code, 'NOT_SERVING');
    assert.match(after.error?.hint, /npx pipe serve/);
    const unreachable = await invoke(root, { url, data: '{}' });
    assert.equal(unreachable.error?.code, 'INVOKE_UNREACHABLE');
  });
});

describe('invoke without a body or a package', () => {
  it('says what to pass', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-invoke-'));
    try {
      const { error } = await invoke(root, { url: 'http://127.0.0.1:9' });
      assert.equal(error?.code, 'INVOKE_NO_BODY');
      assert.equal(exitCodeOf(error), 2);
      assert.match(error?.hint, /--data/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('serve without a package', () => {
  it('says to run package first', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-serve-'));
    try {
      await assert.rejects(
        serveTask.run(context(root, { port: 0 }, new AbortController().signal, () => undefined)),
        (error: any) => error.code === 'PACKAGE_MISSING' && /npx pipe package/.test(error.hint),
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
