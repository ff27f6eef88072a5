import path from 'node:path';
import * as v from 'valibot';
import type { Architecture, Runtime } from '../lambda/facts.js';
import { DEFAULT_STAGE, configSchema, type ParsedConfig, type PipeConfig, type StageConfig } from './schema.js';

/** The configuration of one run: the chosen stage merged over the top level, the schema's defaults filled in. */
export type ResolvedConfig = Omit<ParsedConfig, 'image' | 'stages' | 'defaultStage'> & {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute project root (the config file's directory). */
  root: string;
  stage: string;
  /** Build image for the docker runner. */
  image: string;
  stages: string[];
};

export function defaultImage(runtime: Runtime, architecture: Architecture): string {
  return `public.ecr.aws/sam/build-${runtime}:latest-${architecture}`;
}

/** `base` with the keys `over` sets (an unset or undefined key keeps the base's value). */
function overlay<T extends object>(base: T | undefined, over: T | undefined): T | undefined {
  if (!over) return base;
  const defined = Object.fromEntries(Object.entries(over).filter(([, value]) => value !== undefined));
  return { ...base, ...defined } as T;
}

/**
 * The stage's settings written over the top level's, before defaults: a stage that leaves a key out
 * inherits the top level's value, and only then the default. Variables and endpoints merge key by key.
 */
function mergeStage(config: PipeConfig, stage: StageConfig): PipeConfig {
  const fn = overlay(config.function, stage.function);
  const aws = overlay(config.aws, stage.aws);
  return {
    ...config,
    region: stage.region ?? config.region,
    function: fn && { ...fn, env: overlay(config.function?.env, stage.function?.env) },
    url: overlay(config.url, stage.url),
    aws: aws && { ...aws, endpoints: overlay(config.aws?.endpoints, stage.aws?.endpoints) },
    audit: overlay(config.audit, stage.audit),
    logs: overlay(config.logs, stage.logs),
    release: overlay(config.release, stage.release),
  };
}

export function resolveConfig(config: PipeConfig, file: string, stage: string | undefined): ResolvedConfig {
  const stageName = stage ?? config.defaultStage ?? DEFAULT_STAGE;
  const { image, stages, defaultStage: _, ...settings } = v.parse(configSchema, mergeStage(config, config.stages?.[stageName] ?? {}));
  return {
    ...settings,
    file,
    root: path.dirname(file),
    stage: stageName,
    image: image ?? defaultImage(settings.runtime, settings.architecture),
    stages: Object.keys(stages ?? { [DEFAULT_STAGE]: {} }),
  };
}
