import { describe, expect, it } from "vitest";
import { fail } from "./fail.js";
import { expectTyped } from "./harness.js";
import type { ConformanceBinding } from "./types.js";

/** The suite's own failure helpers keep their messages under every runner (bun test included). */
export function selfCheckSuite<Db>(b: ConformanceBinding<Db>): void {
  describe("suite helpers", () => {
    it("fail(message) throws an Error carrying the message", () => {
      expect(() => fail("the reason")).toThrow("the reason");
    });

    it("expectTyped names what went wrong when nothing or the wrong error is thrown", () => {
      expect(() => expectTyped(b, () => 1, ["DecodeError"], "a no-op")).toThrow("a no-op: expected DecodeError, but nothing was thrown");
      expect(() =>
        expectTyped(
          b,
          () => {
            throw new TypeError("plain");
          },
          ["DecodeError"],
          "a TypeError",
        ),
      ).toThrow(/a TypeError: expected DecodeError \(a ReplicError\), got TypeError: plain/);
    });
  });
}
