import type { TaskDefinition } from '../src/task.js';
import { auditTask } from './audit.js';
import { cleanTask } from './clean.js';
import { deployTask } from './deploy.js';
import { diffTask } from './diff.js';
import { envTask } from './env.js';
import { invokeTask } from './invoke.js';
import { logsTask } from './logs.js';
import { modelTask } from './model.js';
import { monitorTask } from './monitor.js';
import { packageTask } from './package.js';
import { scoreTask } from './score.js';
import { serveTask } from './serve.js';
import { rollbackTask } from './rollback.js';
import { statusTask } from './status.js';
import { undeployTask } from './undeploy.js';
import { updateTask } from './update.js';
import { versionsTask } from './versions.js';

/** The built-in tasks, in the order `pipe --help` lists them. */
export const builtinTasks: readonly TaskDefinition[] = [
  envTask,
  modelTask,
  packageTask,
  deployTask,
  updateTask,
  undeployTask,
  cleanTask,
  serveTask,
  invokeTask,
  scoreTask,
  diffTask,
  statusTask,
  versionsTask,
  rollbackTask,
  logsTask,
  auditTask,
  monitorTask,
];
