// The error a call throws (or a promise rejects with), checked to be of the expected class, for tests that then
// look at its typed fields.
import { expect } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: any constructor signature, as `instanceof` takes.
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/** The error `fn` throws, which must be an `expected`; a call that returns fails the test. */
export function thrownBy<E extends Error>(fn: () => unknown, expected: ErrorClass<E>): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(expected);
    return error as E;
  }
  throw new Error(`expected a ${expected.name}`);
}

/** The error `promise` rejects with, which must be an `expected`; a promise that resolves fails the test. */
export async function rejectionOf<E extends Error>(
  promise: Promise<unknown>,
  expected: ErrorClass<E>,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(expected);
    return error as E;
  }
  throw new Error(`expected a ${expected.name}`);
}
