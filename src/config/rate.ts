import * as v from 'valibot';
import { closestName } from '../util/closest-name.js';

const UNITS = ['minute', 'minutes', 'hour', 'hours', 'day', 'days'] as const;
const EXAMPLE = 'a rate such as "5 minutes", "1 hour" or "1 day" (a positive whole number, then minute(s), hour(s) or day(s)), or false';

/**
 * What is wrong with a keep-warm rate, in EventBridge's rate(value unit) grammar: `value` a positive
 * integer, `unit` singular for 1 and plural above ("rate(1 hours) and rate(5 hour) aren't valid").
 * `rate(...)` around it is accepted too. Undefined when it is valid.
 */
export function rateProblem(text: string): string | undefined {
  const inner = /^rate\((.*)\)$/.exec(text.trim())?.[1] ?? text.trim();
  const match = /^(\S+)\s+(\S+)$/.exec(inner);
  if (!match) return `expected ${EXAMPLE}`;
  const [, rawValue, unit] = match as unknown as [string, string, string];
  if (!/^\d+$/.test(rawValue) || Number(rawValue) < 1) return `the value must be a positive whole number; expected ${EXAMPLE}`;
  const value = Number(rawValue);
  if (!(UNITS as readonly string[]).includes(unit)) {
    const close = closestName(unit.toLowerCase(), UNITS);
    const singular = close?.replace(/s$/, '');
    const suggestion = singular ? `; did you mean "${value} ${value === 1 ? singular : `${singular}s`}"?` : '';
    return `the unit must be one of ${UNITS.join(', ')}${suggestion}`;
  }
  const plural = unit.endsWith('s');
  if (value === 1 && plural) return `a value of 1 takes the singular unit: "1 ${unit.slice(0, -1)}"`;
  if (value > 1 && !plural) return `a value above 1 takes the plural unit: "${value} ${unit}s"`;
  return undefined;
}

/** The EventBridge schedule expression of a valid keep-warm rate. */
export function scheduleExpression(rate: string): string {
  const text = rate.trim();
  return text.startsWith('rate(') ? text : `rate(${text.replace(/\s+/g, ' ')})`;
}

const problemOf = (value: unknown): string | undefined => (value === false ? undefined : typeof value === 'string' ? rateProblem(value) : `expected ${EXAMPLE}`);

/** `function.keepWarm`: false (off) or a rate. */
export const keepWarm = v.pipe(
  v.custom<string | false>((value) => problemOf(value) === undefined, (issue) => {
    const value = issue.input;
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'boolean' || typeof value === 'number' ? String(value) : typeof value;
    return `is ${shown}; ${problemOf(value)}`;
  }),
  v.description(EXAMPLE),
);
