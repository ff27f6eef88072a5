import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseDecisionLine } from '../src/audit/decision-line.js';
import type { ResolvedConfig } from '../src/config/resolved.js';
import { auditEnvironment } from '../src/aws/rules/audit-env.js';
import { PipeError, UsageError } from '../src/errors.js';
import { packagedExample } from '../src/packaging/package-manifest.js';
import { formatDuration } from '../src/reporter/format.js';
import { extractZip } from '../src/runtime/extract-zip.js';
import { startFunctionUrlServer } from '../src/runtime/function-url-server.js';
import { LocalFunction } from '../src/runtime/local-function.js';
import { launchParentPid, parentGone, watchParent } from '../src/runtime/parent-watch.js';
import { checkPortFree } from '../src/runtime/port-check.js';
import { clearServeState, readServeState, writeServeState } from '../src/runtime/serve-state.js';
import { packageDir, serveDir as servedPackageDir, serveStateFile } from '../src/project-paths.js';
import type { TaskDefinition } from '../src/task.js';
import { shellQuote } from '../src/util/format-command.js';
import { checkOutputTarget } from '../src/util/output-file.js';

const HOST = '127.0.0.1';

function portOption(options: Readonly<Record<string, unknown>>): number {
  const port = options.port ?? 3000;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('SERVE_BAD_PORT', `--port must be an integer from 0 to 65535, got ${String(port)}`, { hint: 'Pass --port 0 for any free port.' });
  }
  return port;
}

/** --trail FILE: where the served function's decision lines are appended; its directory must exist. */
function trailOption(config: ResolvedConfig, options: Readonly<Record<string, unknown>>): string | undefined {
  const trail = options.trail;
  if (trail === undefined) return undefined;
  if (typeof trail !== 'string' || trail.trim() === '') throw new UsageError('OPTION_INVALID', '--trail needs a file name: where to append the decision lines', { hint: 'e.g. `npx pipe serve --trail decisions.jsonl`' });
  if (config.audit.log === 'off') {
    throw new UsageError('TRAIL_AUDIT_OFF', '--trail: audit.log is off, so the function writes no decision lines', { hint: "Set audit.log to 'decisions' (the default) or 'full' in the config." });
  }
  // Appended to: an existing file is welcome, a missing directory is not.
  return checkOutputTarget(trail, true, '--trail');
}

/** Refuses a second serve of the same project (its state names the running one). */
async function checkNotServing(config: ResolvedConfig): Promise<void> {
  const running = await readServeState(path.join(config.root, serveStateFile(config)));
  if (running) {
    throw new PipeError('SERVE_RUNNING', `pipe serve is already running at ${running.url} (pid ${running.pid})`, {
      hint: 'Use that one (`npx pipe invoke`), or stop it with Ctrl+C first.',
    });
  }
}

/** Resolves with why serving should end: the run was interrupted, or the process that started pipe exited. */
function untilStopped(signal: AbortSignal): Promise<'aborted' | 'parent-gone'> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve('aborted');
    if (parentGone()) return resolve('parent-gone');
    const unwatch = watchParent(() => resolve('parent-gone'));
    signal.addEventListener('abort', () => {
      unwatch();
      resolve('aborted');
    }, { once: true });
  });
}

export const serveTask: TaskDefinition = {
  name: 'serve',
  description: 'Run the packaged function locally behind a Function-URL-compatible HTTP endpoint',
  dependencies: ['package'],
  explicitOnly: true,
  options: {
    port: { type: 'number', describe: 'Port on 127.0.0.1 (0: any free port)', default: 3000 },
    trail: { type: 'string', describe: 'Append the decision lines the function writes to this file (JSON lines, for pipe monitor --file)' },
  },
  checkOptions: (options) => void portOption(options),
  // Before the build: a busy port or a serve already running would only be found after it.
  async preflight({ config, options }) {
    await checkNotServing(config);
    await checkPortFree(HOST, portOption(options));
    trailOption(config, options);
  },
  async run(ctx) {
    const { config, root } = ctx;
    const port = portOption(ctx.options);
    const verbose = ctx.options.verbose === true;
    const trailFile = trailOption(config, ctx.options);
    const functionZip = path.join(root, packageDir(config), 'function.zip');
    const layerZip = path.join(root, packageDir(config), 'layer.zip');
    if (!existsSync(functionZip)) {
      throw new PipeError('PACKAGE_MISSING', `${path.relative(root, functionZip)} does not exist`, { hint: 'Run `npx pipe package` first.' });
    }
    const stateFile = path.join(root, serveStateFile(config));
    await checkNotServing(config);

    // A fresh copy of exactly what Lambda would get: the function as /var/task, the layer as /opt.
    const serveDir = path.join(root, servedPackageDir(config));
    const codeDir = path.join(serveDir, 'code');
    const layerDir = path.join(serveDir, 'layer');
    await rm(serveDir, { recursive: true, force: true });
    const extracting = ctx.reporter.step('extract package');
    const code = await extractZip(functionZip, codeDir, { python: config.python });
    const layer = existsSync(layerZip) ? await extractZip(layerZip, layerDir, { python: config.python }) : undefined;
    extracting.done(`${code.files} function files${layer ? `, ${layer.files} layer files` : ''}`);

    const { launch, python, where } = await (await ctx.runner()).functionHost();
    // Appended to, never replaced: one file can gather several sessions' decisions.
    const trail: WriteStream | undefined = trailFile ? createWriteStream(trailFile, { flags: 'a' }) : undefined;
    let trailError: Error | undefined;
    trail?.on('error', (error) => {
      trailError ??= error;
      ctx.reporter.line(`--trail ${trailFile}: ${error.message}; decision lines are no longer written to it`, 'warn');
    });

    const fn = new LocalFunction({
      codeDir,
      layerDirs: layer ? [layerDir] : [],
      handler: config.function.handler,
      python,
      launch,
      functionName: `${config.app}-${config.stage}`,
      memoryMb: config.function.memory,
      timeoutSeconds: config.function.timeout,
      region: config.region,
      runtime: config.runtime,
      // A salt of its own per serve: hashes match within this process only, as the deployed salt is never local.
      env: { ...config.function.env, ...auditEnvironment(config.audit.log, undefined) },
      onLog: (line) => {
        if (trail && !trailError && parseDecisionLine(line)) {
          trail.write(`${line.trim()}\n`);
          return;
        }
        // Lambda's per-request START/END/REPORT lines repeat the access log: shown with --verbose only.
        if (verbose || !/^(START|END|REPORT) RequestId: /.test(line)) ctx.reporter.line(line, 'stderr');
      },
    });
    try {
      const { initMs } = await fn.start();
      const server = await startFunctionUrlServer({
        fn,
        host: HOST,
        port,
        region: config.region,
        onRequest: (r) => ctx.reporter.line(`${r.method} ${r.path} ${r.statusCode} ${formatDuration(r.durationMs)}`, r.statusCode >= 500 ? 'warn' : 'info'),
      });
      try {
        // The served package's example request (its manifest's): what this function was built to answer.
        const example = await packagedExample(config);
        await writeServeState(stateFile, { url: server.url, pid: process.pid, ...(example === undefined ? {} : { example }) });
        const lines = [`Serving ${config.function.handler} ${where} at ${server.url} (init ${formatDuration(initMs)})`];
        if (example !== undefined) {
          const json = JSON.stringify(example);
          lines.push(`Try:  curl -s -X POST ${server.url}/predict -H 'content-type: application/json' -d ${shellQuote(json)}`);
          lines.push(`  or: npx pipe invoke --data ${shellQuote(json)}`);
        } else {
          lines.push(`Try:  curl -s ${server.url}/`);
        }
        if (trailFile) lines.push(`Decisions are appended to ${path.relative(process.cwd(), trailFile) || trailFile} (\`npx pipe monitor --file ${shellQuote(path.relative(process.cwd(), trailFile) || trailFile)}\`).`);
        lines.push('Press Ctrl+C to stop.');
        ctx.io.print(lines.join('\n'));
        if ((await untilStopped(ctx.signal)) === 'parent-gone') {
          ctx.reporter.line(`the process that started pipe (pid ${launchParentPid()}) exited: stopping the server`, 'warn');
          return { summary: `served at ${server.url} until its parent process exited`, url: server.url };
        }
      } finally {
        await server.close();
        await clearServeState(stateFile, process.pid);
      }
      return { summary: `served at ${server.url}`, url: server.url };
    } finally {
      await fn.stop();
      if (trail) await new Promise<void>((resolve) => trail.end(resolve));
    }
  },
};
