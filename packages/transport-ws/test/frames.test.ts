import { describe, expect, it } from "vitest";
import { DecodeError } from "@replic/core";
import { TRANSPORT_VERSION, decodeControl, encodeControl } from "../src/frames.js";
import { backoffDelay } from "../src/backoff.js";

describe("control frames", () => {
  it("round-trip hello, auth, ping and pong", () => {
    const nonce = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
    const hello = decodeControl(encodeControl({ type: "hello", version: TRANSPORT_VERSION, peerId: 0xfffffffe, nonce }));
    expect(hello).toEqual({ type: "hello", version: TRANSPORT_VERSION, peerId: 0xfffffffe, nonce });
    const proof = new Uint8Array(32).fill(9);
    expect(decodeControl(encodeControl({ type: "auth", proof }))).toEqual({ type: "auth", proof });
    expect(decodeControl(encodeControl({ type: "auth", proof: new Uint8Array(0) }))).toEqual({ type: "auth", proof: new Uint8Array(0) });
    expect(decodeControl(encodeControl({ type: "ping" }))).toEqual({ type: "ping" });
    expect(decodeControl(encodeControl({ type: "pong" }))).toEqual({ type: "pong" });
  });

  it("refuses malformed frames with a DecodeError", () => {
    const hello = encodeControl({ type: "hello", version: 1, peerId: 5, nonce: new Uint8Array(16) });
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(0x72, 1),
      Uint8Array.of(0, 9),
      hello.subarray(0, hello.length - 1),
      Uint8Array.from(hello, (b, i) => (i === 3 ? 0 : b)),
      Uint8Array.of(0, 2, 5, 1, 2),
      Uint8Array.of(0, 3, 0),
    ];
    for (const b of bad) {
      expect(() => decodeControl(b)).toThrow(DecodeError);
    }
  });
});

describe("backoffDelay", () => {
  it("doubles up to the ceiling, jittered within [1/2, 1] of it", () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 10_000, () => 0.999999)).toBe(10_000);
    expect(backoffDelay(20, 100, 10_000, () => 0)).toBe(5_000);
  });
});
