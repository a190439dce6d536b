/**
 * `fail(message)`: fails the current test with that message. vitest has `expect.fail`, bun test
 * does not (calling it there throws a TypeError and loses the message), so the suite uses this.
 */
export function fail(message: string): never {
  throw new Error(message);
}
