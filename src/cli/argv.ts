import { UsageError } from '../errors.js';
import type { TaskOption } from '../task.js';

const flagNames = (name: string, option: TaskOption): string[] => [`--${name}`, ...(option.alias ? [option.alias.length === 1 ? `-${option.alias}` : `--${option.alias}`] : [])];

/**
 * A value starting with a dash (`logs --since -5m`) would be read by yargs as short flags `-5 -m`.
 * After a string option it is its value, unless it is itself one of the known flags: written as
 * `--since=-5m` it reaches yargs whole.
 */
export function attachDashValues(argv: readonly string[], options: Readonly<Record<string, TaskOption>>): string[] {
  const known = new Set(Object.entries(options).flatMap(([name, o]) => [...flagNames(name, o), ...(o.type === 'boolean' ? [`--no-${name}`] : [])]));
  const stringFlags = new Map(Object.entries(options).filter(([, o]) => o.type === 'string').flatMap(([name, o]) => flagNames(name, o).map((f) => [f, name] as const)));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = stringFlags.get(arg);
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (name !== undefined && next !== undefined && next.startsWith('-') && next !== '--' && !known.has(next.split('=')[0]!)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The text the user wrote for an option (`--port abc`, `--port=abc`), for messages. */
function writtenValue(argv: readonly string[], name: string, option: TaskOption): string | undefined {
  const flags = flagNames(name, option);
  for (let i = argv.length - 1; i >= 0; i--) {
    const arg = argv[i]!;
    const eq = flags.find((f) => arg.startsWith(`${f}=`));
    if (eq) return arg.slice(eq.length + 1);
    if (flags.includes(arg)) return argv[i + 1];
  }
  return undefined;
}

/** yargs turns `--port abc` into NaN: refuse it naming what was written (exit 2). */
export function checkNumberOptions(args: Readonly<Record<string, unknown>>, argv: readonly string[], options: Readonly<Record<string, TaskOption>>): void {
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'number') continue;
    const value = args[name];
    if (typeof value === 'number' && Number.isNaN(value)) {
      const written = writtenValue(argv, name, option);
      throw new UsageError('BAD_OPTION', `--${name} expects a number, got ${written === undefined ? 'no value' : JSON.stringify(written)}`, {
        hint: `Run \`pipe --help\` (or \`pipe <task> --help\`) for the options.`,
      });
    }
  }
}
