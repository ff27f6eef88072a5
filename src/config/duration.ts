import * as v from 'valibot';

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600 };
const EXAMPLE = 'a duration such as "30 seconds", "10 minutes" or "1 hour"';

/** Seconds in a duration such as "10 minutes" or "1 hour"; undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour)s?\s*$/i.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!.toLowerCase()]!;
  return seconds > 0 ? seconds : undefined;
}

/** A duration in words, shortest form: 90 -> "1.5 minutes", 600 -> "10 minutes". */
export function durationText(seconds: number): string {
  const [unit, size] = seconds >= 3600 && seconds % 360 === 0 ? ['hour', 3600] : seconds >= 60 && seconds % 6 === 0 ? ['minute', 60] : ['second', 1];
  const count = Math.round((seconds / (size as number)) * 10) / 10;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** A config field holding a duration in words; the message says what it expects. */
export const duration = () =>
  v.pipe(
    v.string(`expected ${EXAMPLE}`),
    v.check((text) => durationSeconds(text) !== undefined, (issue) => `is ${JSON.stringify(issue.input)}; expected ${EXAMPLE}`),
    v.description(EXAMPLE),
  );
