import { NotImplementedError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const undeployTask: TaskDefinition = {
  name: 'undeploy',
  description: 'Remove everything pipe created for the stage (asks first unless --yes)',
  dependencies: [],
  async run() {
    throw new NotImplementedError('undeploy', 'undeploying is not implemented in this build');
  },
};
