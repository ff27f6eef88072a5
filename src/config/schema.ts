import * as v from 'valibot';
import { ARCHITECTURES, DEFAULT_RUNTIME, LIMITS } from '../lambda/facts.js';
import type { UserTaskContext } from '../task.js';
import { arrayOf, boolean, either, func, nullValue, number, object, oneOf, oneOfNumbers, recordOf, text } from './fields.js';
import { keepWarm } from './rate.js';
import { duration } from './duration.js';
import { runtimeField } from './runtime-field.js';

/**
 * pipeline.config.ts, once: this schema gives the types users write (PipeConfig), the defaults, and
 * every check with its message. resolved.ts merges a stage over the top level and reads the defaults
 * from here.
 */

export type { Architecture, Runtime } from '../lambda/facts.js';

export const RUNNER_CHOICES = ['auto', 'docker', 'local'] as const;
export type RunnerChoice = (typeof RUNNER_CHOICES)[number];

export const AUDIT_LOG_MODES = ['decisions', 'full', 'off'] as const;
/** decisions: one JSON line per prediction without feature values; full: with them; off: none. */
export type AuditLogMode = (typeof AUDIT_LOG_MODES)[number];

/** The values CloudWatch Logs' PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
/** About the 25 months credit regulations (US Regulation B) ask adverse-action records to be kept. */
export const DEFAULT_RETENTION_DAYS = 731;

export const ESTIMATORS = [
  'random_forest', 'extra_trees', 'decision_tree', 'gradient_boosting', 'hist_gradient_boosting', 'lightgbm', 'xgboost',
] as const;
export type Estimator = (typeof ESTIMATORS)[number];
export const MODEL_TASKS = ['binary', 'multiclass', 'regression'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

export const DEFAULT_STAGE = 'dev';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const TASK_NAME = /^[a-z][a-z0-9:_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const region = text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as "us-east-1"');
const relPath = text(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a project-relative path (no leading "/", no "..")');
const column = text(/\S/, 'a column name');
const range = (r: { min: number; max: number }) => number({ ...r, integer: true });

/** Lambda function settings; a stage may override any of them. */
const functionSchema = object({
  /** MB. */
  memory: v.optional(range(LIMITS.memoryMb), 512),
  /** Seconds. */
  timeout: v.optional(range(LIMITS.timeoutSeconds), 30),
  /** MB of /tmp. */
  ephemeralStorage: v.optional(range(LIMITS.ephemeralStorageMb), 512),
  /** Environment variables of the deployed function. */
  env: v.optional(recordOf(text(), /^[A-Za-z][A-Za-z0-9_]*$/, 'an environment variable name'), {}),
  /** Handler entry point inside the package. */
  handler: v.optional(text(/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/, 'module.function, e.g. "app.handler"'), 'app.handler'),
  /**
   * Invoke the live alias on a schedule so an instance stays warm: an EventBridge rate such as
   * '5 minutes' or '1 hour'; false (the default) is off, and reads as undefined once resolved.
   */
  keepWarm: v.optional(v.pipe(keepWarm, v.transform((rate) => rate || undefined)), false),
  /** Instances kept initialised on the live alias (billed while configured). */
  provisionedConcurrency: v.optional(number({ min: 1, integer: true })),
  /**
   * The most instances the function may run at once (0 stops every invocation). The account's limit is
   * known only to deploy, which checks that LIMITS.unreservedConcurrencyMinimum stays unreserved.
   */
  reservedConcurrency: v.optional(number({ min: 0, integer: true })),
});

const auditSchema = object({
  /** What the function logs per prediction. */
  log: v.optional(oneOf(AUDIT_LOG_MODES), 'decisions'),
});

const percent = number({ min: 1, max: 99, integer: true });

/** How a new version takes live's traffic: at once, or a share first, watched, then the rest. */
const strategySchema = either([
  oneOf(['all-at-once']),
  object({ canary: object({ percent, wait: duration() }) }, 'an object { canary: { percent, wait } }'),
  object({ linear: object({ percent, every: duration() }) }, 'an object { linear: { percent, every } }'),
]);
export type ReleaseStrategy = v.InferOutput<typeof strategySchema>;

const releaseSchema = object({
  /** Published versions kept (newest first); older ones no alias points to are deleted after a deploy. */
  keepVersions: v.optional(number({ min: 1, max: 1000, integer: true }), 10),
  /** 'all-at-once', { canary: { percent: 10, wait: '10 minutes' } } or { linear: { percent: 10, every: '1 minute' } }. */
  strategy: v.optional(strategySchema, 'all-at-once'),
  /** CloudWatch alarms that, in ALARM during a gradual rollout, send the traffic back to the old version. */
  alarms: v.optional(arrayOf(text(/^.{1,255}$/, 'a CloudWatch alarm name')), []),
  /** The share of the new version's requests that may fail (Errors and Throttles over Invocations). */
  maxErrorRate: v.optional(number({ min: 0, max: 1 }), 0.01),
  /** Requests the new version must have answered before its error rate is judged. */
  minRequests: v.optional(number({ min: 1, integer: true }), 20),
  /**
   * Checked by deploy against the live version before any write, on the validation rows (pipe diff):
   * deploy refuses (exit 1) when more decisions flip, or the score shifts more, than this allows.
   */
  gate: v.optional(object({
    /** The most rows whose decision (or label) may change, as a share: 0.05 is 5%. */
    maxFlipRate: v.optional(number({ min: 0, max: 1 })),
    /** The most the score's PSI against the live model's deciles may be (0.25: "shifted" above). */
    maxScorePsi: v.optional(number({ min: 0 })),
  })),
});

const logsSchema = object({
  /** Days CloudWatch keeps the function's logs. */
  retentionDays: v.optional(oneOfNumbers(RETENTION_DAYS), DEFAULT_RETENTION_DAYS),
});

const urlSchema = object({
  /** NONE: public; AWS_IAM: signed requests only. */
  auth: v.optional(oneOf(['NONE', 'AWS_IAM']), 'NONE'),
  cors: v.optional(
    object({
      allowOrigins: v.optional(arrayOf(text())),
      allowMethods: v.optional(arrayOf(text())),
      allowHeaders: v.optional(arrayOf(text())),
      maxAge: v.optional(number({ min: 0, max: 86400, integer: true })),
    }),
  ),
});

const endpoint = v.optional(text(/^https?:\/\/\S+$/, 'an http(s) URL'));
const awsSchema = object({
  profile: v.optional(text()),
  /** Use this role instead of creating one. */
  roleArn: v.optional(text(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN')),
  /** Bucket for code and layer uploads; default derived from app, account and region. */
  bucket: v.optional(text(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')),
  /** Endpoint overrides (LocalStack-style targets); AWS_ENDPOINT_URL* also work. */
  endpoints: v.optional(object({ s3: endpoint, lambda: endpoint, iam: endpoint, logs: endpoint, sts: endpoint, events: endpoint, cloudwatch: endpoint }), {}),
});

const reasonsSchema = object({
  /** Reasons per record, default 4. */
  count: v.optional(number({ min: 0, max: 50, integer: true })),
  /** Features never named in a reason (protected attributes). */
  exclude: v.optional(arrayOf(column)),
  /** Per feature a sentence, e.g. { RevolvingUtilizationOfUnsecuredLines: 'Credit utilisation of {value:%} is high' }. */
  templates: v.optional(recordOf(text(/\S/, 'a sentence with {placeholders}'))),
  /** What the output is called in the default sentence ("risk": "DebtRatio = 0.93 raised the risk by 0.12"). */
  subject: v.optional(text(/\S/, 'a few words, e.g. "risk"')),
});

export const REFERENCE_SOURCES = ['training', 'near-cutoff', 'file'] as const;
/** Where the reference population of the SHAP values comes from (see README "Measured against what"). */
export type ReferenceSource = (typeof REFERENCE_SOURCES)[number];
/** The keys each source takes, besides `from`. */
const REFERENCE_KEYS: Record<ReferenceSource, readonly string[]> = { training: ['size'], 'near-cutoff': ['size', 'band', 'side'], file: ['file'] };

const referenceSchema = object({
  /** training: a seeded sample of the training rows; near-cutoff: rows scored near the decision threshold; file: your CSV. */
  from: oneOf(REFERENCE_SOURCES),
  /** Rows (training, near-cutoff); default 200. */
  size: v.optional(number({ min: 1, max: 5000, integer: true })),
  /** near-cutoff: how far from the threshold a row may score (probability); default 0.05. */
  band: v.optional(number({ min: 0.001, max: 1 })),
  /** near-cutoff: 'negative' (below the threshold, the default) or 'positive' (at or above). */
  side: v.optional(oneOf(['negative', 'positive'])),
  /** file: a CSV with every feature column (project-relative). */
  file: v.optional(relPath),
});

const fairnessSchema = object({
  /** Columns of the training data, read for the fairness report only: never features, never in a request. */
  groups: arrayOf(column),
  /** Numeric group columns cut into bands: { Age: [25, 40, 60] } gives <25, 25-40, 40-60, >=60. */
  bands: v.optional(recordOf(arrayOf(number()))),
  /** The group each column is compared with; default: the group with the highest approval rate. */
  control: v.optional(recordOf(either([text(), number(), boolean()]))),
  /** Fails the model task when a group's adverse impact ratio is below this (0.8: the four-fifths rule). */
  minAir: v.optional(number({ min: 0, max: 1 })),
  /** The decision label that is good for the person; default decision.negative. */
  favourable: v.optional(text()),
});

const modelSchema = object({
  /** Training data CSV (project-relative); default: the built-in synthetic credit example. */
  data: v.optional(relPath),
  /** Target column of the CSV (required with data). */
  target: v.optional(column),
  /** Feature columns; default: every column but the target and `exclude`. Names as in the file. */
  features: v.optional(arrayOf(column)),
  /** Columns that are not features (ids, dates). */
  exclude: v.optional(arrayOf(column)),
  /** Unset: the training script's default, random_forest. */
  estimator: v.optional(oneOf(ESTIMATORS)),
  /** Default: inferred from the target (two values: binary; a few labels or strings: multiclass; numbers: regression). */
  task: v.optional(oneOf(MODEL_TASKS)),
  seed: v.optional(number({ min: 0, integer: true }), 42),
  /** Passed to the estimator, e.g. { n_estimators: 50, max_depth: 6 }. */
  hyperparameters: v.optional(recordOf(either([number(), text(), boolean(), nullValue()]), /^[a-z_][a-z0-9_]*$/, 'an estimator parameter name'), {}),
  /** Features a request may not send as null (every other one may). */
  required: v.optional(arrayOf(column)),
  /** Strict checks per numeric feature beyond being a finite number, e.g. { age: { integer: true, min: 18 } }. */
  constraints: v.optional(recordOf(object({ integer: v.optional(boolean()), min: v.optional(number()), max: v.optional(number()) }))),
  /** A category not seen in training: 'reject' (400 naming the known values, default) or 'missing'. */
  unseenCategories: v.optional(oneOf(['reject', 'missing'])),
  /** Binary models: the probability threshold and the labels of the two decisions (default: the class labels). */
  decision: v.optional(object({ threshold: v.optional(number({ min: 0, max: 1 })), positive: v.optional(text()), negative: v.optional(text()) })),
  /** Reasons in words per prediction (see README "Reasons"). */
  reasons: v.optional(reasonsSchema),
  /** Binary models: the class whose probability the model reports (default 1, true, or yes/y/positive against their opposite). */
  positiveClass: v.optional(either([text(), number(), boolean()])),
  /** The population SHAP values are measured against; default: path-dependent (the training average). */
  reference: v.optional(referenceSchema),
  /** Boosted binary models with a reference: 'probability' gives SHAP values (and reasons) in probability points. */
  shapOutput: v.optional(oneOf(['log_odds', 'probability'])),
  /** How the model treats groups of people, on the validation split, reported with every build (see README "Fairness"). */
  fairness: v.optional(fairnessSchema),
});

const stageSchema = object({
  region: v.optional(region),
  function: v.optional(functionSchema),
  url: v.optional(urlSchema),
  aws: v.optional(awsSchema),
  audit: v.optional(auditSchema),
  logs: v.optional(logsSchema),
  release: v.optional(releaseSchema),
});

/**
 * A task defined in the config: a shell command or a function, with its place in the graph. The
 * graph analyzer checks it against the other tasks (src/graph/task-graph.ts).
 */
const userTaskSchema = object({
  description: v.optional(text()),
  dependencies: v.optional(arrayOf(text(TASK_NAME, 'a task name'))),
  /** Shell command run on the host in the project root. */
  command: v.optional(text()),
  run: v.optional(func<(ctx: UserTaskContext) => Promise<void> | void>()),
  /** Project-relative globs; with outputs, enables skipping when nothing changed. */
  inputs: v.optional(arrayOf(relPath)),
  /** Project-relative files or directories the task writes. */
  outputs: v.optional(arrayOf(relPath)),
});

const dockerSchema = object({
  /** Where the project is mounted in the build container. */
  mountPath: v.optional(text(/^\/\S*$/, 'an absolute container path'), '/var/task'),
  /** Extra binds, "host:container[:ro]" (a local wheelhouse, a CA bundle). */
  binds: v.optional(arrayOf(text(/^[^:]+:\/[^:]*(:(ro|rw))?$/, '"host-path:/container/path[:ro]"')), []),
  /** Extra environment for build containers (proxy settings, PIP_* options). */
  env: v.optional(recordOf(text(), ENV_NAME, 'an environment variable name'), {}),
  network: v.optional(oneOf(['bridge', 'host', 'none'])),
});

const pathsSchema = object({
  python: v.optional(relPath, 'python'),
  handler: v.optional(relPath, 'handler'),
  artifacts: v.optional(relPath, 'artifacts'),
  build: v.optional(relPath, 'build'),
});

const configObject = object({
  /** Name of the application: lowercase letters, digits and dashes; used in AWS resource names. */
  app: text(NAME, 'lowercase letters, digits and dashes, starting with a letter, at most 40 characters'),
  region: v.optional(region, 'us-east-1'),
  runtime: v.optional(runtimeField, DEFAULT_RUNTIME),
  architecture: v.optional(oneOf(ARCHITECTURES), 'x86_64'),
  runner: v.optional(oneOf(RUNNER_CHOICES), 'auto'),
  /** Build image; default public.ecr.aws/sam/build-<runtime>:latest-<arch>. */
  image: v.optional(text(/^\S+$/, 'an image reference')),
  /** Interpreter of the local runner. */
  python: v.optional(text(), 'python3'),
  /** Environment of build steps on either runner (pip options such as PIP_INDEX_URL, proxies). */
  buildEnv: v.optional(recordOf(text(), ENV_NAME, 'an environment variable name'), {}),
  docker: v.optional(dockerSchema, {}),
  paths: v.optional(pathsSchema, {}),
  model: v.optional(modelSchema, {}),
  function: v.optional(functionSchema, {}),
  url: v.optional(urlSchema, {}),
  aws: v.optional(awsSchema, {}),
  audit: v.optional(auditSchema, {}),
  logs: v.optional(logsSchema, {}),
  release: v.optional(releaseSchema, {}),
  stages: v.optional(recordOf(stageSchema, /^[a-z][a-z0-9-]{0,19}$/, 'a stage name: lowercase letters, digits and dashes')),
  defaultStage: v.optional(text()),
  tasks: v.optional(recordOf(userTaskSchema, TASK_NAME, 'a task name: lowercase letters, digits, ":", "_" or "-"'), {}),
});

/** Environment variables pipe sets on the function itself (audit.log and its salt). */
export const PIPE_FUNCTION_ENV = ['PIPE_AUDIT_LOG', 'PIPE_AUDIT_SALT'] as const;

type CheckedConfig = v.InferOutput<typeof configObject>;
type Rule = { path: string[]; message: string };

/** Rules across keys, each naming the key to change; checked once every key is valid on its own. */
function crossKeyRules(config: CheckedConfig): Rule[] {
  const rules: Rule[] = [];
  const model = config.model;
  if (model?.data && !model.target) rules.push({ path: ['model', 'target'], message: 'is missing; a training CSV (model.data) needs its target column' });
  if (model?.target && !model.data) rules.push({ path: ['model', 'target'], message: 'is set without model.data; the built-in example has its own target' });
  const overlap = (model?.features ?? []).find((f) => model?.exclude?.includes(f) || f === model?.target);
  if (overlap) rules.push({ path: ['model', 'features'], message: `lists "${overlap}", which is also the target or excluded` });
  const reference = model?.reference;
  if (reference) {
    const takes = REFERENCE_KEYS[reference.from];
    const extra = Object.keys(reference).find((key) => key !== 'from' && !takes.includes(key));
    if (extra) rules.push({ path: ['model', 'reference', extra], message: `does not apply to from: '${reference.from}' (it takes ${takes.join(', ')})` });
    if (reference.from === 'file' && !reference.file) rules.push({ path: ['model', 'reference', 'file'], message: "is missing; from: 'file' needs the CSV of reference rows" });
  }
  const fairness = model?.fairness;
  const protectedFeature = fairness?.groups.find((g) => model?.features?.includes(g));
  if (protectedFeature) {
    rules.push({ path: ['model', 'features'], message: `lists "${protectedFeature}", which model.fairness.groups lists: a protected attribute must not drive the decision; remove it from model.features (it is read for the fairness report only)` });
  }
  if (fairness && !model?.data) rules.push({ path: ['model', 'fairness'], message: 'needs model.data: the group columns come from your training data' });
  for (const key of Object.keys(fairness?.bands ?? {})) {
    if (!fairness!.groups.includes(key)) rules.push({ path: ['model', 'fairness', 'bands', key], message: `cuts "${key}", which is not in model.fairness.groups` });
  }
  if (model?.shapOutput === 'probability' && !reference) {
    rules.push({ path: ['model', 'shapOutput'], message: "is 'probability', which needs model.reference: SHAP values in probability points are measured against reference rows" });
  }
  // Per stage, the top level merged with it: provisioned instances come out of the reserved ones.
  const scopes: [string[], NonNullable<CheckedConfig['function']> | undefined][] = [[['function'], config.function]];
  for (const [name, stage] of Object.entries(config.stages ?? {})) scopes.push([['stages', name, 'function'], { ...config.function, ...stage.function }]);
  for (const [where, fn] of scopes) {
    const reserved = fn?.reservedConcurrency;
    const provisioned = fn?.provisionedConcurrency;
    if (reserved !== undefined && provisioned !== undefined && provisioned > reserved) {
      rules.push({
        path: [...where, 'provisionedConcurrency'],
        message: `is ${provisioned}, above reservedConcurrency ${reserved}; Lambda provisions instances out of the reserved ones: lower it or raise reservedConcurrency`,
      });
    }
  }
  const envScopes: [string[], Record<string, string> | undefined][] = [[['function', 'env'], config.function?.env]];
  for (const [name, stage] of Object.entries(config.stages ?? {})) envScopes.push([['stages', name, 'function', 'env'], stage.function?.env]);
  for (const [where, env] of envScopes) {
    for (const key of PIPE_FUNCTION_ENV.filter((k) => env?.[k] !== undefined)) {
      rules.push({ path: [...where, key], message: `is set by pipe itself (from audit.log); remove it${key === 'PIPE_AUDIT_LOG' ? ' and set audit.log instead' : ''}` });
    }
  }
  if (config.defaultStage && config.stages && !(config.defaultStage in config.stages)) {
    rules.push({ path: ['defaultStage'], message: `is "${config.defaultStage}"; expected one of the stages: ${Object.keys(config.stages).join(', ')}` });
  }
  return rules;
}

/** The issue path of a key path, each step with the object it is read from. */
function issuePath(root: unknown, keys: readonly string[]): [v.ObjectPathItem, ...v.ObjectPathItem[]] {
  let input = root as Record<string, unknown>;
  const items = keys.map((key): v.ObjectPathItem => {
    const value = input?.[key];
    const item: v.ObjectPathItem = { type: 'object', origin: 'value', input, key, value };
    input = value as Record<string, unknown>;
    return item;
  });
  return items as [v.ObjectPathItem, ...v.ObjectPathItem[]];
}

/** The whole config file. */
export const configSchema = v.pipe(
  configObject,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const rule of crossKeyRules(dataset.value)) addIssue({ message: rule.message, path: issuePath(dataset.value, rule.path) });
  }),
);

/** What pipeline.config.ts exports: every key but `app` optional. */
export type PipeConfig = v.InferInput<typeof configSchema>;
/** A parsed config: the defaults filled in. */
export type ParsedConfig = v.InferOutput<typeof configSchema>;
/** What a stage may override. */
export type StageConfig = v.InferInput<typeof stageSchema>;
export type FunctionConfig = v.InferInput<typeof functionSchema>;
export type UrlConfig = v.InferInput<typeof urlSchema>;
export type AwsConfig = v.InferInput<typeof awsSchema>;
export type AuditConfig = v.InferInput<typeof auditSchema>;
export type LogsConfig = v.InferInput<typeof logsSchema>;
export type DockerConfig = v.InferInput<typeof dockerSchema>;
export type ModelConfig = v.InferInput<typeof modelSchema>;
export type ReasonsConfig = v.InferInput<typeof reasonsSchema>;
export type UserTaskConfig = v.InferOutput<typeof userTaskSchema>;

/** Typed identity helper for pipeline.config.ts. */
export function defineConfig(config: PipeConfig): PipeConfig {
  return config;
}
