import * as v from 'valibot';
import { closestName } from '../util/closest-name.js';

/**
 * The building blocks of the config schema: valibot schemas whose messages say what was written and
 * what is allowed (`is 64; expected an integer >= 128 <= 10240`). The key path is not part of the
 * message: it is read from the issue's path when the issues are listed.
 */

/** A written value as the messages show it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** `is <value>; expected <what>`, for any schema or validation of one value. */
export const expected = (what: string) => (issue: v.BaseIssue<unknown>): string => `is ${show(issue.input)}; expected ${what}`;

/** `; did you mean "x"?` when a written name is close to an allowed one. */
export function didYouMean(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== 'string') return '';
  const close = closestName(value, allowed) ?? allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  return close !== undefined && close !== value ? `; did you mean ${JSON.stringify(close)}?` : '';
}

/** What a schema accepts, in words, for the messages of the schemas around it. */
const described = <S extends v.GenericSchema>(schema: S, what: string) => v.pipe(schema, v.description(what));
const what = (schema: v.GenericSchema): string => v.getDescription(schema) ?? 'a value';

export const text = (pattern?: RegExp, describe = 'a string') =>
  pattern
    ? described(v.pipe(v.string(expected(describe)), v.regex(pattern, expected(describe))), describe)
    : described(v.string(expected(describe)), describe);

export const number = (opts: { min?: number; max?: number; integer?: boolean } = {}) => {
  const describe = [opts.integer ? 'an integer' : 'a number', ...(opts.min !== undefined ? [`>= ${opts.min}`] : []), ...(opts.max !== undefined ? [`<= ${opts.max}`] : [])].join(' ');
  const message = expected(describe);
  return described(
    v.pipe(
      v.number(message),
      v.finite(message),
      v.check((n) => !opts.integer || Number.isInteger(n), message),
      v.check((n) => opts.min === undefined || n >= opts.min, message),
      v.check((n) => opts.max === undefined || n <= opts.max, message),
    ),
    describe,
  );
};

export const boolean = () => described(v.boolean(expected('true or false')), 'true or false');

/** One of a few strings; a near miss names the closest. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => {
  const describe = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return described(v.picklist(values, (issue) => `${expected(describe)(issue)}${didYouMean(issue.input, values)}`), describe);
};

/** One of a fixed set of numbers; a value between them names its neighbours. */
export const oneOfNumbers = <const T extends readonly [number, ...number[]]>(values: T) => {
  const describe = `one of ${values.join(', ')}`;
  return described(
    v.picklist(values, (issue) => {
      const value = issue.input;
      const below = typeof value === 'number' ? values.filter((x) => x < value).at(-1) : undefined;
      const above = typeof value === 'number' ? values.find((x) => x > value) : undefined;
      const near = [below, above].filter((x) => x !== undefined);
      return `${expected(describe)(issue)}${near.length ? `; the nearest: ${near.join(' or ')}` : ''}`;
    }),
    describe,
  );
};

export const func = <T extends (...args: never[]) => unknown>() =>
  described(v.custom<T>((x) => typeof x === 'function', expected('a function')), 'a function');

export const nullValue = () => described(v.null(expected('null')), 'null');

export const arrayOf = <S extends v.GenericSchema>(item: S) => {
  const describe = `an array of ${what(item)}`;
  return described(v.array(item, expected(describe)), describe);
};

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** An object whose keys are names (of variables, stages, tasks): each key and value is checked. */
export const recordOf = <S extends v.GenericSchema>(item: S, keyPattern?: RegExp, keyDescribe = 'a key') => {
  const key = keyPattern ? v.pipe(v.string(), v.regex(keyPattern, `is not a valid name; expected ${keyDescribe}`)) : v.string();
  const record = v.record(key, item, expected('an object'));
  return described(v.pipe(v.custom<v.InferInput<typeof record>>(isPlainObject, expected('an object')), record), `an object of ${what(item)}`);
};

/** Either of two schemas; the message names both. */
export const either = <const O extends [v.GenericSchema, v.GenericSchema, ...v.GenericSchema[]]>(options: O) => {
  const describe = options.map(what).join(' or ');
  return described(v.union(options, expected(describe)), describe);
};

/**
 * A strict object: an unknown key is an error listing the allowed keys (with the closest one), a
 * missing required key says what it expects.
 */
export const object = <E extends v.ObjectEntries>(entries: E, describe = 'an object') => {
  const keys = Object.keys(entries);
  const strict = v.strictObject(entries, (issue) => {
    if (issue.expected === 'never') {
      // valibot reports the first unknown key of an object; the others are named in its message.
      const others = Object.keys(issue.path?.at(-1)?.input ?? {}).filter((key) => !keys.includes(key) && key !== issue.input);
      const also = others.length ? ` (nor ${others.map((key) => JSON.stringify(key)).join(', ')})` : '';
      return `is not a known key${also}; allowed here: ${keys.join(', ')}${didYouMean(issue.input, keys)}`;
    }
    const missing = issue.path?.at(-1)?.key;
    if (typeof missing === 'string' && missing in entries) return `is missing; expected ${what(entries[missing]!)}`;
    return expected(describe)(issue);
  });
  return described(v.pipe(v.custom<v.InferInput<typeof strict>>(isPlainObject, expected(describe)), strict), describe);
};

/** The issues of a parse as `key.path message` pairs. */
export interface Issue {
  path: string;
  message: string;
}

export function issuesOf(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).reduce<string>(
      (at, item) => (typeof item.key === 'number' ? `${at}[${item.key}]` : at ? `${at}.${String(item.key)}` : String(item.key)),
      '',
    ),
    message: issue.message,
  }));
}
