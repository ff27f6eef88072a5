import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';
import { locateKey } from './locate-key.js';
import { resolveConfig, type ResolvedConfig } from './resolved.js';
import { configCheck, type PipeConfig } from './schema.js';
import type { Issue } from './validate.js';

export const CONFIG_NAMES = ['pipeline.config.ts', 'pipeline.config.mts', 'pipeline.config.js', 'pipeline.config.mjs'];

/** Finds the config file: the given path, or the nearest pipeline.config.* from `cwd` upwards. */
export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) throw new UsageError('CONFIG_NOT_FOUND', `Config file not found: ${file}`, { hint: 'Check the --config path.' });
    return file;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file)) return file;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new UsageError('CONFIG_NOT_FOUND', `No ${CONFIG_NAMES[0]} found in ${cwd} or any parent directory`, {
    hint: 'Run pipe inside a project, or pass --config <file>.',
  });
}

interface CacheMeta {
  /** Every file the bundle was built from, with its content hash. */
  inputs: Record<string, string>;
}

/**
 * Turns a TypeScript config into an ES module Node can import. esbuild bundles the config with its
 * relative imports (packages stay external); the result is cached under .pipe/cache keyed by the
 * content of every bundled file, so an unchanged config costs one hash, not a compile.
 */
async function compileConfig(file: string, cacheDir: string): Promise<string> {
  if (/\.m?js$/.test(file)) return file;
  const source = await readFile(file);
  const key = sha256(source).slice(0, 16);
  const outFile = path.join(cacheDir, `config-${key}.mjs`);
  const metaFile = path.join(cacheDir, `config-${key}.json`);
  if (existsSync(outFile) && existsSync(metaFile)) {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as CacheMeta;
    const fresh = await Promise.all(
      Object.entries(meta.inputs).map(async ([input, hash]) => sha256(await readFile(input).catch(() => '')) === hash),
    );
    if (fresh.every(Boolean)) return outFile;
  }
  const { build } = await import('esbuild');
  // Packages are resolved from the config's directory and written as absolute URLs, so the compiled
  // file can live anywhere (a dry run keeps it out of the project).
  const resolveFromConfig = createRequire(file);
  const externalPackages = {
    name: 'external-packages',
    setup(b: { onResolve: (o: { filter: RegExp }, cb: (a: { path: string }) => { path?: string; external: boolean }) => void }) {
      b.onResolve({ filter: /^[^./]/ }, ({ path: spec }) => {
        if (spec.startsWith('node:')) return { external: true };
        try {
          return { path: pathToFileURL(resolveFromConfig.resolve(spec)).href, external: true };
        } catch {
          return { external: true };
        }
      });
    },
  };
  let result;
  try {
    result = await build({
      entryPoints: [file],
      bundle: true,
      plugins: [externalPackages],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: path.dirname(file),
    });
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `:${first.location.line}:${first.location.column}` : '';
    throw new ConfigError(`${path.basename(file)}${where}`, first?.text ?? String(error), {
      hint: 'Fix the syntax error in the config file.',
      location: { file, line: first?.location?.line, column: first?.location ? first.location.column + 1 : undefined },
    });
  }
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const abs = path.resolve(path.dirname(file), input);
    inputs[abs] = sha256(await readFile(abs));
  }
  await mkdir(cacheDir, { recursive: true });
  for (const old of await readdir(cacheDir)) {
    if (old.startsWith('config-')) await rm(path.join(cacheDir, old), { force: true });
  }
  await writeFileAtomic(outFile, result.outputFiles[0]!.contents);
  await writeFileAtomic(metaFile, JSON.stringify({ inputs } satisfies CacheMeta));
  return outFile;
}

function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `  ${i.path || '(config)'} ${i.message}`).join('\n');
}

/** The file, and the line of the first issue's key when the source spells it out. */
function issueLocation(file: string, issues: Issue[]): { file: string; line?: number; column?: number } {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return { file };
  }
  const at = issues[0]?.path ? locateKey(source, issues[0].path) : undefined;
  return { file, ...at };
}

/** Validates a config value: unknown keys, wrong types and cross-field rules, each named by key. */
export function validateConfig(raw: unknown, file: string, builtinTasks: readonly string[]): PipeConfig {
  const issues: Issue[] = [];
  const config = configCheck.parse(raw, '', issues) as PipeConfig | undefined;
  if (config && issues.length === 0) {
    for (const name of Object.keys(config.tasks ?? {})) {
      if (builtinTasks.includes(name)) issues.push({ path: `tasks.${name}`, message: 'has the name of a built-in task; choose another name' });
      const task = config.tasks![name]!;
      if (!task.command && !task.run) issues.push({ path: `tasks.${name}`, message: 'needs a "command" (shell command) or a "run" function' });
      if (task.command && task.run) issues.push({ path: `tasks.${name}`, message: 'has both "command" and "run"; keep one' });
    }
    const model = config.model;
    if (model?.data && !model.target) issues.push({ path: 'model.target', message: 'is missing; a training CSV (model.data) needs its target column' });
    if (model?.target && !model.data) issues.push({ path: 'model.target', message: 'is set without model.data; the built-in example has its own target' });
    const overlap = (model?.features ?? []).find((f) => model?.exclude?.includes(f) || f === model?.target);
    if (overlap) issues.push({ path: 'model.features', message: `lists "${overlap}", which is also the target or excluded` });
    issues.push(...concurrencyIssues(config), ...reservedEnvIssues(config));
    if (config.defaultStage && config.stages && !(config.defaultStage in config.stages)) {
      issues.push({ path: 'defaultStage', message: `is "${config.defaultStage}"; expected one of the stages: ${Object.keys(config.stages).join(', ')}` });
    }
  }
  if (issues.length > 0 || !config) {
    throw new ConfigError(path.basename(file), `invalid configuration:\n${formatIssues(issues)}`, {
      hint: `Edit ${file}; the keys and allowed values are listed in README.md ("Configuration").`,
      location: issueLocation(file, issues),
    });
  }
  return config;
}

/** Environment variables pipe sets on the function itself (audit.log and its salt). */
export const PIPE_FUNCTION_ENV = ['PIPE_AUDIT_LOG', 'PIPE_AUDIT_SALT'] as const;

/** Per stage (the top level merged with it): provisioned concurrency needs room inside a reserved cap. */
function concurrencyIssues(config: PipeConfig): Issue[] {
  const issues: Issue[] = [];
  const scopes: [string, PipeConfig['function']][] = [['function', config.function]];
  for (const [name, stage] of Object.entries(config.stages ?? {})) scopes.push([`stages.${name}.function`, { ...config.function, ...stage.function }]);
  for (const [where, fn] of scopes) {
    const reserved = fn?.reservedConcurrency;
    const provisioned = fn?.provisionedConcurrency;
    if (reserved !== undefined && provisioned !== undefined && provisioned > reserved) {
      issues.push({
        path: `${where}.provisionedConcurrency`,
        message: `is ${provisioned}, above reservedConcurrency ${reserved}; Lambda provisions instances out of the reserved ones: lower it or raise reservedConcurrency`,
      });
    }
  }
  return issues;
}

function reservedEnvIssues(config: PipeConfig): Issue[] {
  const scopes: [string, Record<string, string> | undefined][] = [['function.env', config.function?.env]];
  for (const [name, stage] of Object.entries(config.stages ?? {})) scopes.push([`stages.${name}.function.env`, stage.function?.env]);
  return scopes.flatMap(([where, env]) =>
    PIPE_FUNCTION_ENV.filter((key) => env?.[key] !== undefined).map((key) => ({
      path: `${where}.${key}`,
      message: `is set by pipe itself (from audit.log); remove it${key === 'PIPE_AUDIT_LOG' ? ' and set audit.log instead' : ''}`,
    })),
  );
}

export interface LoadedConfig {
  config: ResolvedConfig;
  raw: PipeConfig;
}

export async function loadConfig(opts: { cwd: string; file?: string; stage?: string; builtinTasks: readonly string[]; readOnly?: boolean }): Promise<LoadedConfig> {
  const file = findConfigFile(opts.cwd, opts.file);
  const projectCache = path.join(path.dirname(file), '.pipe', 'cache');
  // A read-only run (--dry-run) uses the project's cache when it has one and never creates it.
  const cacheDir = opts.readOnly && !existsSync(projectCache)
    ? path.join(os.tmpdir(), `pipe-config-${process.getuid?.() ?? 'user'}`, sha256(file).slice(0, 12))
    : projectCache;
  const compiled = await compileConfig(file, cacheDir);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(compiled).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigError(path.basename(file), `failed to evaluate: ${(error as Error).message}`, { cause: error, hint: 'Fix the error in the config file.', location: { file } });
  }
  if (mod.default === undefined) {
    throw new ConfigError(path.basename(file), 'has no default export', { hint: 'Write `export default defineConfig({ ... })`.', location: { file } });
  }
  const raw = validateConfig(mod.default, file, opts.builtinTasks);
  if (opts.stage && raw.stages && !(opts.stage in raw.stages)) {
    throw new UsageError('UNKNOWN_STAGE', `Unknown stage "${opts.stage}"`, { hint: `Stages in ${path.basename(file)}: ${Object.keys(raw.stages).join(', ')}` });
  }
  return { config: resolveConfig(raw, file, opts.stage), raw };
}
