// Setup for every core test file: after each test, let the event loop reach its I/O phase.
// Tests here are synchronous and some run for seconds; vitest runs a file's tests back to back
// through microtasks, so without a turn of the loop the worker cannot read the runner's replies,
// and a file of long tests ends in "Timeout calling onTaskUpdate" (60 s) on a busy machine.
import { afterEach } from "vitest";

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
