import { NotImplementedError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const statusTask: TaskDefinition = {
  name: 'status',
  description: 'Show what is deployed for the stage: URL, live version, code hash vs local package',
  dependencies: [],
  command: true,
  async run() {
    throw new NotImplementedError('status', 'status is not implemented in this build');
  },
};
