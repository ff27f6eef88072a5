import type { TaskOption } from '../../task.js';

/** `--profile`, shared by every task that talks to AWS (kept apart so the CLI loads no SDK to list it). */
export const PROFILE_OPTION: TaskOption = { type: 'string', describe: 'AWS profile (default: AWS_PROFILE or the default chain)' };
