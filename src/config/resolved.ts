import path from 'node:path';
import type {
  Architecture, AuditLogMode, AwsConfig, DockerConfig, LogsConfig, ModelConfig, PipeConfig, RunnerChoice, Runtime, StageConfig, UrlConfig, UserTaskConfig,
} from './schema.js';

/** The configuration of one run: defaults filled in and the chosen stage merged over the top level. */
export interface ResolvedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute project root (the config file's directory). */
  root: string;
  app: string;
  stage: string;
  region: string;
  runtime: Runtime;
  architecture: Architecture;
  runner: RunnerChoice;
  /** Build image for the docker runner. */
  image: string;
  python: string;
  buildEnv: Record<string, string>;
  docker: Required<Pick<DockerConfig, 'mountPath' | 'binds' | 'env'>> & Pick<DockerConfig, 'network'>;
  /** Project-relative paths. */
  paths: { python: string; handler: string; artifacts: string; build: string };
  /** The model settings; an unset estimator is the training script's default (random_forest). */
  model: Required<Pick<ModelConfig, 'seed' | 'hyperparameters'>> & Omit<ModelConfig, 'seed' | 'hyperparameters'>;
  function: {
    memory: number;
    timeout: number;
    ephemeralStorage: number;
    env: Record<string, string>;
    handler: string;
    /** EventBridge rate ('5 minutes'); undefined: no keep-warm schedule. */
    keepWarm?: string;
    provisionedConcurrency?: number;
    reservedConcurrency?: number;
  };
  audit: { log: AuditLogMode };
  logs: { retentionDays: NonNullable<LogsConfig['retentionDays']> };
  url: { auth: 'NONE' | 'AWS_IAM'; cors?: UrlConfig['cors'] };
  aws: AwsConfig;
  stages: string[];
  tasks: Record<string, UserTaskConfig>;
}

export function defaultImage(runtime: Runtime, architecture: Architecture): string {
  return `public.ecr.aws/sam/build-${runtime}:latest-${architecture}`;
}

export const DEFAULT_STAGE = 'dev';
/** About the 25 months credit regulations (US Regulation B) ask adverse-action records to be kept. */
export const DEFAULT_RETENTION_DAYS = 731;

export function resolveConfig(config: PipeConfig, file: string, stage: string | undefined): ResolvedConfig {
  const stageName = stage ?? config.defaultStage ?? DEFAULT_STAGE;
  const stageConfig: StageConfig = config.stages?.[stageName] ?? {};
  const runtime = config.runtime ?? 'python3.12';
  const architecture = config.architecture ?? 'x86_64';
  return {
    file,
    root: path.dirname(file),
    app: config.app,
    stage: stageName,
    region: stageConfig.region ?? config.region ?? 'us-east-1',
    runtime,
    architecture,
    runner: config.runner ?? 'auto',
    image: config.image ?? defaultImage(runtime, architecture),
    python: config.python ?? 'python3',
    buildEnv: config.buildEnv ?? {},
    docker: {
      mountPath: config.docker?.mountPath ?? '/var/task',
      binds: config.docker?.binds ?? [],
      env: config.docker?.env ?? {},
      network: config.docker?.network,
    },
    paths: {
      python: config.paths?.python ?? 'python',
      handler: config.paths?.handler ?? 'handler',
      artifacts: config.paths?.artifacts ?? 'artifacts',
      build: config.paths?.build ?? 'build',
    },
    model: {
      ...config.model,
      seed: config.model?.seed ?? 42,
      hyperparameters: config.model?.hyperparameters ?? {},
    },
    function: {
      memory: stageConfig.function?.memory ?? config.function?.memory ?? 512,
      timeout: stageConfig.function?.timeout ?? config.function?.timeout ?? 30,
      ephemeralStorage: stageConfig.function?.ephemeralStorage ?? config.function?.ephemeralStorage ?? 512,
      env: { ...config.function?.env, ...stageConfig.function?.env },
      handler: stageConfig.function?.handler ?? config.function?.handler ?? 'app.handler',
      keepWarm: (stageConfig.function?.keepWarm ?? config.function?.keepWarm) || undefined,
      provisionedConcurrency: stageConfig.function?.provisionedConcurrency ?? config.function?.provisionedConcurrency,
      reservedConcurrency: stageConfig.function?.reservedConcurrency ?? config.function?.reservedConcurrency,
    },
    audit: { log: stageConfig.audit?.log ?? config.audit?.log ?? 'decisions' },
    logs: { retentionDays: stageConfig.logs?.retentionDays ?? config.logs?.retentionDays ?? DEFAULT_RETENTION_DAYS },
    url: {
      auth: stageConfig.url?.auth ?? config.url?.auth ?? 'NONE',
      cors: stageConfig.url?.cors ?? config.url?.cors,
    },
    aws: {
      ...config.aws,
      ...stageConfig.aws,
      endpoints: { ...config.aws?.endpoints, ...stageConfig.aws?.endpoints },
    },
    stages: Object.keys(config.stages ?? { [DEFAULT_STAGE]: {} }),
    tasks: config.tasks ?? {},
  };
}
