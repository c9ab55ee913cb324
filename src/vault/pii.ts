/**
 * Redaction by type. A `Pii<T>` holds a plaintext value in a private field; every way a value
 * ends up in text by accident (JSON.stringify, pino, template strings, String(), util.inspect,
 * console.log) yields "[redacted]". Reading the value takes an explicit `.reveal()`, which is
 * easy to grep for and to review.
 *
 * Invariant: no code path other than `reveal()` returns the wrapped value. The value lives in an
 * ECMAScript private field, so Object.keys, spread, structuredClone and inspect(showHidden) cannot
 * see it either.
 */

export const REDACTED = '[redacted]';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export class Pii<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
    Object.freeze(this);
  }

  /** Wraps a value; same as `new Pii(value)`. */
  static of<T>(value: T): Pii<T> {
    return new Pii(value);
  }

  /** True for a `Pii` instance (a brand check on the private field, not on a property). */
  static isPii(value: unknown): value is Pii<unknown> {
    return typeof value === 'object' && value !== null && #value in value;
  }

  /** The plaintext. Every call site is a place where PII leaves its wrapper: keep them few. */
  reveal(): T {
    return this.#value;
  }

  /** Transforms the plaintext without exposing it, e.g. `phone.map(maskPhone)`. */
  map<U>(fn: (value: T) => U): Pii<U> {
    return new Pii(fn(this.#value));
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspectCustom](): string {
    return REDACTED;
  }

  get [Symbol.toStringTag](): string {
    return 'Pii';
  }
}

/** Wraps a value as PII. */
export function pii<T>(value: T): Pii<T> {
  return new Pii(value);
}
