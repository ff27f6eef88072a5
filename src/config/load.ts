import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as v from 'valibot';
import { ConfigError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';
import { issuesOf } from './fields.js';
import { invalidConfig } from './invalid-config.js';
import { resolveConfig, type ResolvedConfig } from './resolved.js';
import { configSchema, type PipeConfig } from './schema.js';
import { CACHE_DIR } from '../project-paths.js';

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

/** Checks a config value against the schema: unknown keys, wrong values and rules across keys, each named by key. */
export function validateConfig(raw: unknown, file: string): PipeConfig {
  const result = v.safeParse(configSchema, raw, { abortPipeEarly: true });
  if (!result.success) throw invalidConfig(file, issuesOf(result.issues));
  return raw as PipeConfig;
}

export interface LoadedConfig {
  config: ResolvedConfig;
  raw: PipeConfig;
}

export async function loadConfig(opts: { cwd: string; file?: string; stage?: string; readOnly?: boolean }): Promise<LoadedConfig> {
  const file = findConfigFile(opts.cwd, opts.file);
  const projectCache = path.join(path.dirname(file), CACHE_DIR);
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
  const raw = validateConfig(mod.default, file);
  if (opts.stage && raw.stages && !(opts.stage in raw.stages)) {
    throw new UsageError('UNKNOWN_STAGE', `Unknown stage "${opts.stage}"`, { hint: `Stages in ${path.basename(file)}: ${Object.keys(raw.stages).join(', ')}` });
  }
  return { config: resolveConfig(raw, file, opts.stage), raw };
}
