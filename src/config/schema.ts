import {
  arrayOf, boolean, either, func, number, object, oneOf, oneOfNumbers, optional, recordOf, string, type Check,
} from './validate.js';
import { keepWarmCheck } from './rate.js';
import type { UserTaskContext } from '../task.js';

export const RUNTIMES = ['python3.8', 'python3.9', 'python3.10', 'python3.11', 'python3.12', 'python3.13'] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export const RUNNER_CHOICES = ['auto', 'docker', 'local'] as const;
export type RunnerChoice = (typeof RUNNER_CHOICES)[number];

/** Lambda function settings; a stage may override any of them. */
export interface FunctionConfig {
  /** MB, 128-10240. */
  memory?: number;
  /** Seconds, 1-900. */
  timeout?: number;
  /** MB of /tmp, 512-10240. */
  ephemeralStorage?: number;
  /** Environment variables of the deployed function. */
  env?: Record<string, string>;
  /** Handler entry point inside the package. */
  handler?: string;
  /**
   * Invoke the live alias on a schedule so an instance stays warm: an EventBridge rate such as
   * '5 minutes' or '1 hour'. Off (false) by default.
   */
  keepWarm?: string | false;
  /** Instances kept initialised on the live alias (billed while configured). */
  provisionedConcurrency?: number;
  /** The most instances the function may run at once (0 stops every invocation). */
  reservedConcurrency?: number;
}

export const AUDIT_LOG_MODES = ['decisions', 'full', 'off'] as const;
/** decisions: one JSON line per prediction without feature values; full: with them; off: none. */
export type AuditLogMode = (typeof AUDIT_LOG_MODES)[number];

export interface AuditConfig {
  /** What the function logs per prediction; default 'decisions'. */
  log?: AuditLogMode;
}

/** The values CloudWatch Logs' PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export interface LogsConfig {
  /** Days CloudWatch keeps the function's logs; default 731 (about 25 months). */
  retentionDays?: (typeof RETENTION_DAYS)[number];
}

export interface UrlConfig {
  /** NONE: public; AWS_IAM: signed requests only. */
  auth?: 'NONE' | 'AWS_IAM';
  cors?: { allowOrigins?: string[]; allowMethods?: string[]; allowHeaders?: string[]; maxAge?: number };
}

export interface AwsConfig {
  profile?: string;
  /** Use this role instead of creating one. */
  roleArn?: string;
  /** Bucket for code and layer uploads; default derived from app, account and region. */
  bucket?: string;
  /** Endpoint overrides (LocalStack-style targets); AWS_ENDPOINT_URL* also work. */
  endpoints?: Partial<Record<'s3' | 'lambda' | 'iam' | 'logs' | 'sts' | 'events', string>>;
}

export const ESTIMATORS = [
  'random_forest', 'extra_trees', 'decision_tree', 'gradient_boosting', 'hist_gradient_boosting', 'lightgbm', 'xgboost',
] as const;
export type Estimator = (typeof ESTIMATORS)[number];
export const MODEL_TASKS = ['binary', 'multiclass', 'regression'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/** Checks a request must pass for one numeric feature (beyond being a finite number). */
export interface FeatureConstraint {
  integer?: boolean;
  min?: number;
  max?: number;
}

export interface ModelConfig {
  /** Training data CSV (project-relative); default: the built-in synthetic credit example. */
  data?: string;
  /** Target column of the CSV (required with data). */
  target?: string;
  /** Feature columns; default: every column but the target and `exclude`. Names as in the file. */
  features?: string[];
  /** Columns that are not features (ids, dates). */
  exclude?: string[];
  /** Default 'random_forest'. */
  estimator?: Estimator;
  /** Default: inferred from the target (two values: binary; a few labels or strings: multiclass; numbers: regression). */
  task?: ModelTask;
  seed?: number;
  /** Passed to the estimator, e.g. { n_estimators: 50, max_depth: 6 }. */
  hyperparameters?: Record<string, number | string | boolean | null>;
  /** Features a request may not send as null (every other one may). */
  required?: string[];
  /** Strict checks per numeric feature, e.g. { age: { integer: true, min: 18 } }. */
  constraints?: Record<string, FeatureConstraint>;
  /** A category not seen in training: 'reject' (400 naming the known values, default) or 'missing'. */
  unseenCategories?: 'reject' | 'missing';
  /** Binary models: the probability threshold and the labels of the two decisions (default: the class labels). */
  decision?: { threshold?: number; positive?: string; negative?: string };
  /** Reasons in words per prediction (see README "Reasons"). */
  reasons?: ReasonsConfig;
}

export interface ReasonsConfig {
  /** Reasons per record, default 4. */
  count?: number;
  /** Features never named in a reason (protected attributes). */
  exclude?: string[];
  /** Per feature a sentence, e.g. { RevolvingUtilizationOfUnsecuredLines: 'Credit utilisation of {value:%} is high' }. */
  templates?: Record<string, string>;
  /** What the output is called in the default sentence ("risk": "DebtRatio = 0.93 raised the risk by 0.12"). */
  subject?: string;
}

export interface StageConfig {
  region?: string;
  function?: FunctionConfig;
  url?: UrlConfig;
  aws?: AwsConfig;
  audit?: AuditConfig;
  logs?: LogsConfig;
}

/** A task defined in the config: a shell command or a function, with its place in the graph. */
export interface UserTaskConfig {
  description?: string;
  dependencies?: string[];
  /** Shell command run on the host in the project root. */
  command?: string;
  run?: (ctx: UserTaskContext) => Promise<void> | void;
  /** Project-relative globs; with outputs, enables skipping when nothing changed. */
  inputs?: string[];
  /** Project-relative files or directories the task writes. */
  outputs?: string[];
}

export interface DockerConfig {
  /** Where the project is mounted in the build container. */
  mountPath?: string;
  /** Extra binds, "host:container[:ro]" (a local wheelhouse, a CA bundle). */
  binds?: string[];
  /** Extra environment for build containers (proxy settings, PIP_* options). */
  env?: Record<string, string>;
  network?: 'bridge' | 'host' | 'none';
}

export interface PipeConfig {
  /** Name of the application: lowercase letters, digits and dashes; used in AWS resource names. */
  app: string;
  region?: string;
  runtime?: Runtime;
  architecture?: Architecture;
  runner?: RunnerChoice;
  /** Build image; default public.ecr.aws/sam/build-<runtime>:latest-<arch>. */
  image?: string;
  /** Interpreter of the local runner. */
  python?: string;
  /** Environment of build steps on either runner (pip options such as PIP_INDEX_URL, proxies). */
  buildEnv?: Record<string, string>;
  docker?: DockerConfig;
  paths?: { python?: string; handler?: string; artifacts?: string; build?: string };
  model?: ModelConfig;
  function?: FunctionConfig;
  url?: UrlConfig;
  aws?: AwsConfig;
  audit?: AuditConfig;
  logs?: LogsConfig;
  stages?: Record<string, StageConfig>;
  defaultStage?: string;
  tasks?: Record<string, UserTaskConfig>;
}

/** Typed identity helper for pipeline.config.ts. */
export function defineConfig(config: PipeConfig): PipeConfig {
  return config;
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const TASK_NAME = /^[a-z][a-z0-9:_-]*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const relPath = string(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a project-relative path (no leading "/", no "..")');

const functionCheck = object({
  memory: optional(number({ min: 128, max: 10240, integer: true })),
  timeout: optional(number({ min: 1, max: 900, integer: true })),
  ephemeralStorage: optional(number({ min: 512, max: 10240, integer: true })),
  env: optional(recordOf(string(), /^[A-Za-z][A-Za-z0-9_]*$/, 'an environment variable name')),
  handler: optional(string(/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/, 'module.function, e.g. "app.handler"')),
  keepWarm: optional(keepWarmCheck),
  provisionedConcurrency: optional(number({ min: 1, integer: true })),
  reservedConcurrency: optional(number({ min: 0, integer: true })),
});

const auditCheck = object({ log: optional(oneOf(AUDIT_LOG_MODES)) });
const logsCheck = object({ retentionDays: optional(oneOfNumbers(RETENTION_DAYS)) });

const urlCheck = object({
  auth: optional(oneOf(['NONE', 'AWS_IAM'] as const)),
  cors: optional(
    object({
      allowOrigins: optional(arrayOf(string())),
      allowMethods: optional(arrayOf(string())),
      allowHeaders: optional(arrayOf(string())),
      maxAge: optional(number({ min: 0, max: 86400, integer: true })),
    }),
  ),
});

const endpoint = string(/^https?:\/\/\S+$/, 'an http(s) URL');
const awsCheck = object({
  profile: optional(string()),
  roleArn: optional(string(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN')),
  bucket: optional(string(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')),
  endpoints: optional(
    object({
      s3: optional(endpoint), lambda: optional(endpoint), iam: optional(endpoint), logs: optional(endpoint), sts: optional(endpoint), events: optional(endpoint),
    }),
  ),
});

const userTaskCheck = object({
  description: optional(string()),
  dependencies: optional(arrayOf(string(TASK_NAME, 'a task name'))),
  command: optional(string()),
  run: optional(func<NonNullable<UserTaskConfig['run']>>()),
  inputs: optional(arrayOf(relPath)),
  outputs: optional(arrayOf(relPath)),
});

const hyper = either(either(number(), string()), either(boolean(), { describe: 'null', parse: (v, p, i) => (v === null ? null : (i.push({ path: p, message: 'expected null' }), undefined)) } as Check<null>));

export const configCheck = object({
  app: string(NAME, 'lowercase letters, digits and dashes, starting with a letter, at most 40 characters'),
  region: optional(string(REGION, 'an AWS region such as "us-east-1"')),
  runtime: optional(oneOf(RUNTIMES)),
  architecture: optional(oneOf(ARCHITECTURES)),
  runner: optional(oneOf(RUNNER_CHOICES)),
  image: optional(string(/^\S+$/, 'an image reference')),
  python: optional(string()),
  buildEnv: optional(recordOf(string(), /^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')),
  docker: optional(
    object({
      mountPath: optional(string(/^\/\S*$/, 'an absolute container path')),
      binds: optional(arrayOf(string(/^[^:]+:\/[^:]*(:(ro|rw))?$/, '"host-path:/container/path[:ro]"'))),
      env: optional(recordOf(string(), /^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')),
      network: optional(oneOf(['bridge', 'host', 'none'] as const)),
    }),
  ),
  paths: optional(object({ python: optional(relPath), handler: optional(relPath), artifacts: optional(relPath), build: optional(relPath) })),
  model: optional(
    object({
      data: optional(relPath),
      target: optional(string(/\S/, 'a column name')),
      features: optional(arrayOf(string(/\S/, 'a column name'))),
      exclude: optional(arrayOf(string(/\S/, 'a column name'))),
      estimator: optional(oneOf(ESTIMATORS)),
      task: optional(oneOf(MODEL_TASKS)),
      seed: optional(number({ min: 0, integer: true })),
      hyperparameters: optional(recordOf(hyper, /^[a-z_][a-z0-9_]*$/, 'an estimator parameter name')),
      required: optional(arrayOf(string(/\S/, 'a column name'))),
      constraints: optional(recordOf(object({ integer: optional(boolean()), min: optional(number()), max: optional(number()) }))),
      unseenCategories: optional(oneOf(['reject', 'missing'] as const)),
      decision: optional(object({ threshold: optional(number({ min: 0, max: 1 })), positive: optional(string()), negative: optional(string()) })),
      reasons: optional(
        object({
          count: optional(number({ min: 0, max: 50, integer: true })),
          exclude: optional(arrayOf(string(/\S/, 'a column name'))),
          templates: optional(recordOf(string(/\S/, 'a sentence with {placeholders}'))),
          subject: optional(string(/\S/, 'a few words, e.g. "risk"')),
        }),
      ),
    }),
  ),
  function: optional(functionCheck),
  url: optional(urlCheck),
  aws: optional(awsCheck),
  audit: optional(auditCheck),
  logs: optional(logsCheck),
  stages: optional(
    recordOf(
      object({
        region: optional(string(REGION, 'an AWS region such as "us-east-1"')), function: optional(functionCheck), url: optional(urlCheck), aws: optional(awsCheck),
        audit: optional(auditCheck), logs: optional(logsCheck),
      }),
      /^[a-z][a-z0-9-]{0,19}$/,
      'a stage name: lowercase letters, digits and dashes',
    ),
  ),
  defaultStage: optional(string()),
  tasks: optional(recordOf(userTaskCheck, TASK_NAME, 'a task name: lowercase letters, digits, ":", "_" or "-"')),
});
