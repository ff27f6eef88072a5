import { NotImplementedError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const deployTask: TaskDefinition = {
  name: 'deploy',
  description: 'Deploy the stage: bucket, IAM role, layer, function, alias, public Function URL, smoke test',
  dependencies: ['package'],
  async run() {
    throw new NotImplementedError('deploy', 'deploying to AWS Lambda is not implemented in this build');
  },
};
