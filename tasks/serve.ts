import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, PipeError, UsageError } from '../src/errors.js';
import { formatDuration } from '../src/reporter/format.js';
import { extractZip } from '../src/runtime/extract-zip.js';
import { startFunctionUrlServer } from '../src/runtime/function-url-server.js';
import type { FunctionLauncher } from '../src/runtime/function-process.js';
import { LocalFunction } from '../src/runtime/local-function.js';
import { clearServeState, readServeState, serveStateFile, writeServeState } from '../src/runtime/serve-state.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';
import { shellQuote } from '../src/util/format-command.js';

async function exampleRequest(codeDir: string): Promise<unknown> {
  try {
    const card = JSON.parse(await readFile(path.join(codeDir, 'artifacts', 'model_card.json'), 'utf8')) as { example_request?: unknown };
    return card.example_request;
  } catch {
    return undefined;
  }
}

function portOption(ctx: TaskContext): number {
  const port = ctx.options.port ?? 3000;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('SERVE_BAD_PORT', `--port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return port;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export const serveTask: TaskDefinition = {
  name: 'serve',
  description: 'Run the packaged function locally behind a Function-URL-compatible HTTP endpoint',
  dependencies: ['package'],
  command: true,
  options: {
    port: { type: 'number', describe: 'Port on 127.0.0.1 (0: any free port)', default: 3000 },
  },
  async run(ctx) {
    const { config, root } = ctx;
    const port = portOption(ctx);
    const verbose = ctx.options.verbose === true;
    const buildDir = path.join(root, config.paths.build);
    const functionZip = path.join(buildDir, 'package', 'function.zip');
    const layerZip = path.join(buildDir, 'package', 'layer.zip');
    if (!existsSync(functionZip)) {
      throw new PipeError('PACKAGE_MISSING', `${path.relative(root, functionZip)} does not exist`, { hint: 'Run `npx pipe package` first.' });
    }
    const stateFile = serveStateFile(root, config.paths.build);
    const running = await readServeState(stateFile);
    if (running) {
      throw new PipeError('SERVE_RUNNING', `pipe serve is already running at ${running.url} (pid ${running.pid})`, {
        hint: 'Use that one (`npx pipe invoke`), or stop it with Ctrl+C first.',
      });
    }

    // A fresh copy of exactly what Lambda would get: the function as /var/task, the layer as /opt.
    const serveDir = path.join(buildDir, 'serve');
    const codeDir = path.join(serveDir, 'code');
    const layerDir = path.join(serveDir, 'layer');
    await rm(serveDir, { recursive: true, force: true });
    const extracting = ctx.reporter.step('extract package');
    const code = await extractZip(functionZip, codeDir, { python: config.python });
    const layer = existsSync(layerZip) ? await extractZip(layerZip, layerDir, { python: config.python }) : undefined;
    extracting.done(`${code.files} function files${layer ? `, ${layer.files} layer files` : ''}`);

    // On the docker runner the function runs in the build image, whose Python is the Lambda runtime's.
    const runner = await ctx.runner();
    let launch: FunctionLauncher | undefined;
    let where = `with ${config.python}`;
    if (runner.kind === 'docker') {
      const [{ DockerRunner }, { dockerLauncher }] = await Promise.all([import('../src/runners/docker-runner.js'), import('../src/runtime/docker-launch.js')]);
      if (!(runner instanceof DockerRunner)) throw new InternalError('a docker runner that is not a DockerRunner');
      launch = dockerLauncher(runner, config);
      where = `in docker ${runner.image}`;
    }

    const fn = new LocalFunction({
      codeDir,
      layerDirs: layer ? [layerDir] : [],
      handler: config.function.handler,
      python: runner.kind === 'docker' ? runner.python : config.python,
      launch,
      functionName: `${config.app}-${config.stage}`,
      memoryMb: config.function.memory,
      timeoutSeconds: config.function.timeout,
      region: config.region,
      runtime: config.runtime,
      env: config.function.env,
      onLog: (line) => {
        // Lambda's per-request START/END/REPORT lines repeat the access log: shown with --verbose only.
        if (verbose || !/^(START|END|REPORT) RequestId: /.test(line)) ctx.reporter.line(line, 'stderr');
      },
    });
    try {
      const { initMs } = await fn.start();
      const server = await startFunctionUrlServer({
        fn,
        host: '127.0.0.1',
        port,
        region: config.region,
        onRequest: (r) => ctx.reporter.line(`${r.method} ${r.path} ${r.statusCode} ${formatDuration(r.durationMs)}`, r.statusCode >= 500 ? 'warn' : 'info'),
      });
      try {
        await writeServeState(stateFile, { url: server.url, pid: process.pid });
        const example = await exampleRequest(codeDir);
        const lines = [`Serving ${config.function.handler} ${where} at ${server.url} (init ${formatDuration(initMs)})`];
        if (example !== undefined) {
          const json = JSON.stringify(example);
          lines.push(`Try:  curl -s -X POST ${server.url}/predict -H 'content-type: application/json' -d ${shellQuote(json)}`);
          lines.push(`  or: npx pipe invoke --data ${shellQuote(json)}`);
        } else {
          lines.push(`Try:  curl -s ${server.url}/`);
        }
        lines.push('Press Ctrl+C to stop.');
        ctx.io.print(lines.join('\n'));
        await untilAborted(ctx.signal);
      } finally {
        await server.close();
        await clearServeState(stateFile, process.pid);
      }
      return { summary: `served at ${server.url}` };
    } finally {
      await fn.stop();
    }
  },
};
