import { NotImplementedError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const updateTask: TaskDefinition = {
  name: 'update',
  description: 'Push new code to an existing deployment, smoke test, move the live alias',
  dependencies: ['package'],
  async run() {
    throw new NotImplementedError('update', 'updating a deployment is not implemented in this build');
  },
};
