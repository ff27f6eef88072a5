import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PipeError } from '../src/errors.js';
import { deployedArtifacts } from '../src/packaging/artifacts.js';
import { PACKAGE_MANIFEST_FORMAT, readLocalPackage, writePackageManifest, type LocalPackage, type PackageManifest } from '../src/packaging/package-manifest.js';
import { envPaths, packageDir, venvPython } from '../src/project-paths.js';
import type { ZipEntry, ZipResult } from '../src/packaging/zip.js';
import { listVendoredWheels } from '../src/packaging/wheels.js';
import { formatBytes } from '../src/reporter/format.js';
import { sha256File } from '../src/util/hash.js';
import type { Runner } from '../src/runners/runner.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';

const excluded = (rel: string): boolean =>
  /(^|\/)(__pycache__|\.pytest_cache|tests?)(\/|$)/.test(rel) || rel.endsWith('.pyc') || /(^|\/)\./.test(rel);

/**
 * Vendored files a function never uses: console scripts, pip's RECORD (it lists paths and hashes of
 * files we drop) and the libraries' own test suites, which are a large share of numpy's size.
 */
const vendoredExcluded = (rel: string): boolean =>
  rel.endsWith('.dist-info/RECORD') || /^python\/bin(\/|$)/.test(rel) || /\/tests(\/|$)/.test(rel) || rel.endsWith('.pyi');

// Compiles each listed module with the runtime's Python, as hash-based pycs that are used whatever the
// files' times in the zip (PEP 552, unchecked); prints the cache tag, or "skip" for another Python.
const COMPILE = `
import json, py_compile, sys
runtime, jobs = sys.argv[1], json.loads(sys.argv[2])
if "python%d.%d" % sys.version_info[:2] != runtime:
    print("skip python%d.%d" % sys.version_info[:2])
    sys.exit(0)
for source, target, shown in jobs:
    py_compile.compile(source, cfile=target, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(sys.implementation.cache_tag)
`;

/**
 * The handler's bytecode, compiled here by the runtime's own Python: Lambda's code directory is
 * read-only, so without it every cold start compiles the modules again (tens of milliseconds for
 * pipe's function). A syntax error fails the package task instead of the function's first start.
 * With another Python than the runtime's (a local runner on a different version), no bytecode.
 */
async function compileHandler(ctx: TaskContext, runner: Runner, handlerEntries: ZipEntry[], dir: string):
Promise<{ entries: ZipEntry[]; note: string }> {
  const modules = handlerEntries.filter((e) => e.name.endsWith('.py'));
  const inProject = (file: string): string => path.posix.join(runner.projectDir, path.relative(ctx.root, file).split(path.sep).join('/'));
  const jobs = modules.map((m) => {
    const target = path.join(dir, `${m.name}.pyc`);
    return { module: m, target, job: [inProject(m.file), inProject(target), `/var/task/${m.name}`] };
  });
  await mkdir(dir, { recursive: true });
  const { stdout } = await runner.exec(
    { command: [venvPython(ctx.config, runner.envKey), '-c', COMPILE, ctx.config.runtime, JSON.stringify(jobs.map((j) => j.job))], title: 'compile handler bytecode' },
    { signal: ctx.signal, reporter: ctx.reporter },
  );
  const tag = stdout.trim().split('\n').pop() ?? '';
  if (!/^cpython-\d+$/.test(tag)) return { entries: [], note: `no bytecode (${tag || 'no answer'}: not ${ctx.config.runtime})` };
  const entries = jobs.map(({ module, target }) => {
    const dirname = path.posix.dirname(module.name);
    const stem = path.posix.basename(module.name, '.py');
    return { name: path.posix.join(dirname === '.' ? '' : dirname, '__pycache__', `${stem}.${tag}.pyc`), file: target };
  });
  return { entries, note: `bytecode for ${entries.length} ${entries.length === 1 ? 'module' : 'modules'} (${tag})` };
}

/**
 * The layer.zip of the package already built, when it was zipped from files with the same digest
 * and is still the file its manifest describes: compressing the runtime deps again (tens of
 * megabytes at zlib's level 9) would give the same bytes, and takes seconds.
 */
async function unchangedLayer(ctx: TaskContext, sources: string): Promise<{ file: string; layer: NonNullable<PackageManifest['layer']> } | undefined> {
  let built: LocalPackage;
  try {
    built = await readLocalPackage(ctx.config);
  } catch {
    return undefined;
  }
  const layer = built.manifest.layer;
  if (!layer || layer.sources !== sources || !built.layerZip || !existsSync(built.layerZip)) return undefined;
  return (await sha256File(built.layerZip)) === layer.sha256 ? { file: built.layerZip, layer } : undefined;
}

export const packageTask: TaskDefinition = {
  name: 'package',
  description: 'Zip the function (handler + artifacts) and a layer of runtime deps, deterministically',
  dependencies: ['env', 'model'],
  inputs: (c) => [`${c.paths.handler}/**`],
  outputs: (c) => [packageDir(c)],
  configSlice: (c) => ({ runtime: c.runtime, architecture: c.architecture, handler: c.function.handler, paths: c.paths, manifestFormat: PACKAGE_MANIFEST_FORMAT }),
  async run(ctx) {
    // archiver is loaded only when something is packaged: a no-op run stays cheap.
    const { collectFiles, entriesDigest, writeDeterministicZip } = await import('../src/packaging/zip.js');
    const { config, root } = ctx;
    const out = ctx.staging(packageDir(config));
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });

    const artifactsDir = path.join(root, config.paths.artifacts);
    const artifacts = await deployedArtifacts(artifactsDir, config.paths.artifacts);
    const handlerEntries = await collectFiles(path.join(root, config.paths.handler), '', excluded);
    const moduleFile = `${config.function.handler.split('.').slice(0, -1).join('/')}.py`;
    if (!handlerEntries.some((e) => e.name === moduleFile)) {
      throw new PipeError('HANDLER_MISSING', `${config.paths.handler}/${moduleFile} not found for handler "${config.function.handler}"`, {
        hint: 'Set function.handler in pipeline.config.ts to module.function of a file in the handler directory.',
      });
    }
    const runner = await ctx.runner();
    const fnStep = ctx.reporter.step('function.zip');
    const bytecodeDir = path.join(out, 'bytecode');
    const bytecode = await compileHandler(ctx, runner, handlerEntries, bytecodeDir);
    const fn: ZipResult = await writeDeterministicZip(
      [...handlerEntries, ...bytecode.entries,
        ...artifacts.files.map((a) => ({ name: `artifacts/${a}`, file: path.join(artifactsDir, a) }))],
      path.join(out, 'function.zip'),
      { signal: ctx.signal },
    );
    await rm(bytecodeDir, { recursive: true, force: true });
    fnStep.done(`${formatBytes(fn.size)} zipped, ${formatBytes(fn.unzippedSize)} unzipped, ${bytecode.note}`);

    // The runtime deps of the environment the run's runner built (env ran, or was up to date, before).
    const depsDir = path.join(root, envPaths(config, runner.envKey).runtimeDeps);
    const depEntries = existsSync(depsDir) ? await collectFiles(depsDir, '', vendoredExcluded) : [];
    let layer: PackageManifest['layer'] = null;
    if (depEntries.length) {
      const layerStep = ctx.reporter.step('layer.zip (runtime deps)');
      const files = `${depEntries.length} ${depEntries.length === 1 ? 'file' : 'files'}`;
      const sources = await entriesDigest(depEntries);
      const previous = await unchangedLayer(ctx, sources);
      if (previous) {
        await copyFile(previous.file, path.join(out, 'layer.zip'));
        layer = previous.layer;
        layerStep.done(`${files} unchanged since the last package: its layer.zip again, ${formatBytes(layer.size)} zipped, ${formatBytes(layer.unzippedSize)} unzipped`);
      } else {
        const result = await writeDeterministicZip(depEntries, path.join(out, 'layer.zip'), {
          signal: ctx.signal,
          onBytes: (bytes) => layerStep.progress({ label: 'layer.zip', current: bytes, unit: 'bytes' }),
        });
        layer = { file: 'layer.zip', sha256: result.sha256, size: result.size, unzippedSize: result.unzippedSize, depsHash: result.sha256, sources };
        layerStep.done(`${files}, ${formatBytes(result.size)} zipped, ${formatBytes(result.unzippedSize)} unzipped`);
      }
    }
    const manifest: PackageManifest = {
      function: { file: 'function.zip', sha256: fn.sha256, size: fn.size, unzippedSize: fn.unzippedSize },
      layer,
      runtime: config.runtime,
      architecture: config.architecture,
      handler: config.function.handler,
      wheels: await listVendoredWheels(path.join(depsDir, 'python')),
      artifacts: artifacts.files,
      ...(artifacts.exampleRequest === undefined ? {} : { exampleRequest: artifacts.exampleRequest }),
      ...(artifacts.model ? { model: artifacts.model } : {}),
    };
    await writePackageManifest(out, manifest);
    const unzipped = fn.unzippedSize + (layer?.unzippedSize ?? 0);
    const zipped = fn.size + (layer?.size ?? 0);
    return { summary: `function ${formatBytes(fn.size)} + layer ${formatBytes(layer?.size ?? 0)} zipped (${formatBytes(zipped)}), ${formatBytes(unzipped)} unzipped` };
  },
};
