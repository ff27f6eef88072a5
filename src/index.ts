/** What pipeline.config.ts imports: `import { defineConfig } from 'pipe'`. */
export { defineConfig } from './config/schema.js';
export type { PipeConfig, StageConfig, UserTaskConfig, FunctionConfig, UrlConfig, AwsConfig, DockerConfig, ModelConfig } from './config/schema.js';
export type { UserTaskContext } from './task.js';
