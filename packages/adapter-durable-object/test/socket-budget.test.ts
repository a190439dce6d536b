// The hub's per-socket bounds on their own (the workerd tests show them on real sockets).
import { describe, expect, it } from "vitest";
import { SocketBudget } from "../src/socket-budget";

const opts = { maxBufferedBytes: 1000, maxInboundBytesPerSecond: 5000, maxInboundFramesPerSecond: 10, maxMessageBytes: 2000 };

describe("SocketBudget", () => {
  it("asks for a ping past half the send bound, withholds patches over it and everything over twice it", () => {
    const b = new SocketBudget(opts, 0);
    b.sent(400);
    expect(b.wantsPing(1)).toBe(false);
    b.sent(200); // 600 > 500
    expect(b.wantsPing(2)).toBe(true);
    expect(b.pingAt).toBe(2);
    b.sent(500);
    expect(b.wantsPing(3)).toBe(false); // one ping out at a time
    expect(b.withholds(true)).toBe(true); // 1100 > 1000: patches wait
    expect(b.withholds(false)).toBe(false); // heartbeats still go
    b.sent(1000);
    expect(b.withholds(false)).toBe(true); // 2100 > 2000: nothing goes
  });

  it("a pong acknowledges what was sent before its ping, not after; a pong without a ping changes nothing", () => {
    const b = new SocketBudget(opts, 0);
    expect(b.pong()).toBe(false);
    b.sent(700);
    expect(b.wantsPing(1)).toBe(true);
    b.sent(600);
    expect(b.pong()).toBe(true);
    expect(b.unacked).toBe(600);
    expect(b.pingAt).toBeUndefined();
    expect(b.wantsPing(2)).toBe(true); // still over half: the next ping goes at once
  });

  it("receives within a budget of bytes and frames per second that refills with time", () => {
    const b = new SocketBudget(opts, 0);
    // The byte burst is one second, and at least one largest frame (2000 < 5000: 5000).
    expect(b.take(4000, 0)).toBe(true);
    expect(b.take(1500, 0)).toBe(false); // 5500 > 5000
    const c = new SocketBudget(opts, 0);
    for (let i = 0; i < 10; i++) expect(c.take(1, 0)).toBe(true);
    expect(c.take(1, 0)).toBe(false); // the 11th frame within the same instant
    const d = new SocketBudget(opts, 0);
    for (let i = 0; i < 10; i++) d.take(1, 0);
    expect(d.take(1, 500)).toBe(true); // half a second refills 5 frames
    expect(d.take(5000, 1500)).toBe(true); // a second later: the whole byte burst again
    expect(d.take(1, 1500)).toBe(false);
  });

  it("a largest frame always fits the burst, even when the rate is lower", () => {
    const b = new SocketBudget({ ...opts, maxInboundBytesPerSecond: 100 }, 0);
    expect(b.take(2000, 0)).toBe(true);
    expect(b.take(100, 0)).toBe(false);
  });
});
