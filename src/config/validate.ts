import { closestName } from '../graph/graph.js';

/**
 * A small structural validator for pipeline.config.ts. Hand-written rather than a schema library so
 * that loading the config stays cheap on every run; each failure names the key path and what is allowed.
 */
export interface Issue {
  path: string;
  message: string;
}

export type Check<T> = {
  readonly describe: string;
  parse(value: unknown, path: string, issues: Issue[]): T | undefined;
};

type Shape = Record<string, Check<unknown>>;
type Infer<S extends Shape> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never };

const show = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
};

export const string = (pattern?: RegExp, describe = 'a string'): Check<string> => ({
  describe,
  parse(value, path, issues) {
    if (typeof value !== 'string' || (pattern && !pattern.test(value))) {
      issues.push({ path, message: `is ${show(value)}; expected ${describe}` });
      return undefined;
    }
    return value;
  },
});

export const number = (opts: { min?: number; max?: number; integer?: boolean } = {}): Check<number> => {
  const parts = [opts.integer ? 'an integer' : 'a number'];
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  const describe = parts.join(' ');
  return {
    describe,
    parse(value, path, issues) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!opts.integer || Number.isInteger(value)) &&
        (opts.min === undefined || value >= opts.min) &&
        (opts.max === undefined || value <= opts.max);
      if (!ok) {
        issues.push({ path, message: `is ${show(value)}; expected ${describe}` });
        return undefined;
      }
      return value as number;
    },
  };
};

export const boolean = (): Check<boolean> => ({
  describe: 'true or false',
  parse(value, path, issues) {
    if (typeof value !== 'boolean') {
      issues.push({ path, message: `is ${show(value)}; expected true or false` });
      return undefined;
    }
    return value;
  },
});

export const oneOf = <T extends string>(values: readonly T[]): Check<T> => {
  const describe = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    describe,
    parse(value, path, issues) {
      if (typeof value !== 'string' || !values.includes(value as T)) {
        issues.push({ path, message: `is ${show(value)}; expected ${describe}${didYouMean(value, values)}` });
        return undefined;
      }
      return value as T;
    },
  };
};

/** One of a fixed set of numbers; a value between them names its neighbours. */
export const oneOfNumbers = (values: readonly number[]): Check<number> => {
  const describe = `one of ${values.join(', ')}`;
  return {
    describe,
    parse(value, path, issues) {
      if (typeof value !== 'number' || !values.includes(value)) {
        const below = typeof value === 'number' ? values.filter((v) => v < value).at(-1) : undefined;
        const above = typeof value === 'number' ? values.find((v) => v > value) : undefined;
        const near = [below, above].filter((v) => v !== undefined);
        const hint = near.length ? `; the nearest: ${near.join(' or ')}` : '';
        issues.push({ path, message: `is ${show(value)}; expected ${describe}${hint}` });
        return undefined;
      }
      return value;
    },
  };
};

/** ` (did you mean "x"?)` when a written value is close to an allowed one. */
function didYouMean(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== 'string') return '';
  const close = closestName(value, allowed) ?? allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  return close !== undefined && close !== value ? `; did you mean ${JSON.stringify(close)}?` : '';
}

export const func = <T extends (...args: never[]) => unknown>(): Check<T> => ({
  describe: 'a function',
  parse(value, path, issues) {
    if (typeof value !== 'function') {
      issues.push({ path, message: `is ${show(value)}; expected a function` });
      return undefined;
    }
    return value as T;
  },
});

export const arrayOf = <T>(item: Check<T>): Check<T[]> => ({
  describe: `an array of ${item.describe}`,
  parse(value, path, issues) {
    if (!Array.isArray(value)) {
      issues.push({ path, message: `is ${show(value)}; expected an array of ${item.describe}` });
      return undefined;
    }
    const out: T[] = [];
    value.forEach((v, i) => {
      const parsed = item.parse(v, `${path}[${i}]`, issues);
      if (parsed !== undefined) out.push(parsed);
    });
    return out;
  },
});

export const recordOf = <T>(item: Check<T>, keyPattern?: RegExp, keyDescribe = 'a key'): Check<Record<string, T>> => ({
  describe: `an object of ${item.describe}`,
  parse(value, path, issues) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path, message: `is ${show(value)}; expected an object` });
      return undefined;
    }
    const out: Record<string, T> = {};
    for (const [key, v] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (keyPattern && !keyPattern.test(key)) {
        issues.push({ path: keyPath, message: `is not a valid name; expected ${keyDescribe}` });
        continue;
      }
      const parsed = item.parse(v, keyPath, issues);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out;
  },
});

export const either = <A, B>(a: Check<A>, b: Check<B>): Check<A | B> => ({
  describe: `${a.describe} or ${b.describe}`,
  parse(value, path, issues) {
    const first: Issue[] = [];
    const pa = a.parse(value, path, first);
    if (first.length === 0) return pa;
    const second: Issue[] = [];
    const pb = b.parse(value, path, second);
    if (second.length === 0) return pb;
    issues.push({ path, message: `is ${show(value)}; expected ${a.describe} or ${b.describe}` });
    return undefined;
  },
});

export interface Optional<T> extends Check<T | undefined> {
  readonly optional: true;
}

export const optional = <T>(check: Check<T>): Optional<T> => ({
  describe: check.describe,
  optional: true,
  parse(value, path, issues) {
    return value === undefined ? undefined : check.parse(value, path, issues);
  },
});

/** A strict object: unknown keys are errors that list the allowed keys. */
export const object = <S extends Shape>(shape: S, describe = 'an object'): Check<Infer<S>> => ({
  describe,
  parse(value, path, issues) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path, message: `is ${show(value)}; expected ${describe}` });
      return undefined;
    }
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record)) {
      if (!(key in shape)) {
        const allowed = Object.keys(shape).join(', ');
        issues.push({ path: path ? `${path}.${key}` : key, message: `is not a known key; allowed here: ${allowed}${didYouMean(key, Object.keys(shape))}` });
      }
    }
    for (const [key, check] of Object.entries(shape)) {
      const keyPath = path ? `${path}.${key}` : key;
      const v = record[key];
      if (v === undefined && !(check as Partial<Optional<unknown>>).optional) {
        issues.push({ path: keyPath, message: `is missing; expected ${check.describe}` });
        continue;
      }
      const parsed = check.parse(v, keyPath, issues);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as Infer<S>;
  },
});
