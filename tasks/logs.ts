import { NotImplementedError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const logsTask: TaskDefinition = {
  name: 'logs',
  description: 'Show the function logs from CloudWatch (--follow, --since)',
  dependencies: [],
  command: true,
  async run() {
    throw new NotImplementedError('logs', 'logs are not implemented in this build');
  },
};
