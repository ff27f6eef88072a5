import type { UserTaskConfig } from './config/schema.js';
import { PipeError } from './errors.js';
import { spawnStreaming } from './runners/spawn-streaming.js';
import type { TaskDefinition } from './task.js';

/**
 * Turns the `tasks` of pipeline.config.ts into graph tasks. A command runs on the host through the
 * shell, in the project root; a function gets a small context. Both are skipped when their declared
 * inputs and outputs say nothing changed.
 */
export function userTasks(tasks: Record<string, UserTaskConfig>): TaskDefinition[] {
  return Object.entries(tasks).map(([name, def]): TaskDefinition => {
    const cacheable = Boolean(def.inputs && def.outputs);
    return {
      name,
      description: def.description ?? (def.command ? `runs: ${def.command}` : 'user-defined task'),
      dependencies: def.dependencies ?? [],
      inputs: cacheable ? () => def.inputs! : undefined,
      outputs: cacheable ? () => def.outputs! : undefined,
      configSlice: () => ({ command: def.command ?? null, run: def.run ? def.run.toString() : null }),
      async run(ctx) {
        if (def.run) {
          try {
            await def.run({ root: ctx.root, stage: ctx.config.stage, signal: ctx.signal, log: (line) => ctx.reporter.line(line, 'info') });
          } catch (error) {
            if (error instanceof PipeError) throw error;
            // A bug in the user's own function: say where it is, not "a bug in pipe".
            throw new PipeError('USER_TASK_FAILED', error instanceof Error ? error.message : String(error), {
              cause: error,
              hint: `The error was thrown by tasks.${name}.run in pipeline.config.ts; --verbose shows its stack.`,
            });
          }
          return;
        }
        await spawnStreaming({
          argv: ['sh', '-c', def.command!],
          display: def.command!,
          cwd: ctx.root,
          env: { PIPE_STAGE: ctx.config.stage },
          signal: ctx.signal,
          reporter: ctx.reporter,
          where: `task ${name}`,
        });
      },
    };
  });
}
