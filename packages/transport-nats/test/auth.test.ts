// Refused NATS credentials: joinNats rejects with a typed AUTH_FAILED; a member whose server comes
// back with other credentials counts each refused dial, logs it once, and re-dials with a growing
// delay (not the client's fixed 250 ms), then links again when the credentials are good again.
import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { isReplicError } from "@replic/core";
import { openReplica } from "@replic/adapter-node";
import { MIGRATIONS } from "@replic/conformance/replica-process";
import { AuthFailedError, joinNats, type MembershipStateChange, type NatsMembership } from "../src/index.js";
import { countingProxy } from "./counting-proxy.js";
import { NatsServer } from "./nats-server.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function replica(peerId: number) {
  const db = new Database(":memory:");
  const r = openReplica(db, { peerId, heartbeatMs: 100 });
  r.migrate(MIGRATIONS);
  cleanup.push(() => {
    r.close();
    db.close();
  });
  return r;
}
async function server(args: string[]): Promise<NatsServer> {
  const s = await NatsServer.start(args);
  cleanup.push(() => s.down());
  return s;
}
function logger() {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m) };
}
async function until(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const metric = (text: string, name: string) => Number(text.match(new RegExp(`^replic_nats_${name}\\{[^}]*\\} (\\d+)$`, "m"))?.[1]);

describe("refused NATS credentials", () => {
  it("joinNats rejects with AUTH_FAILED for a wrong password or token, logged once; the right ones join", async () => {
    const withUser = await server(["--user", "replic", "--pass", "right"]);
    const withToken = await server(["--auth", "t0ken"]);
    const r = replica(501);
    for (const [s, connectOptions] of [
      [withUser, { user: "replic", pass: "wrong" }],
      [withUser, {}],
      [withToken, { token: "wrong" }],
    ] as const) {
      const log = logger();
      const err = await joinNats(r, { servers: s.url, cluster: "auth", connectOptions, logger: log }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailedError);
      expect(isReplicError(err)).toBe(true);
      expect(err).toMatchObject({ code: "AUTH_FAILED" });
      expect((err as Error).message).toMatch(/refused the credentials: .*Authorization Violation/i);
      expect(log.lines).toHaveLength(1);
    }
    for (const [s, connectOptions] of [
      [withUser, { user: "replic", pass: "right" }],
      [withToken, { token: "t0ken" }],
    ] as const) {
      const m = await joinNats(r, { servers: s.url, cluster: "auth", connectOptions, logger: logger() });
      expect(m.state).toBe("connected");
      await m.close();
      expect(m.state).toBe("closed");
    }
  });

  it("a server back with other credentials: counted, one warning per dial, dials back off; good credentials again link again", async () => {
    const nats = await server(["--user", "replic", "--pass", "first"]);
    const proxy = await countingProxy(nats.port);
    cleanup.push(() => proxy.close());
    const a = replica(511);
    const b = replica(512);
    const log = logger();
    const url = `nats://127.0.0.1:${proxy.port}`;
    const ma = await joinNats(a, { servers: url, cluster: "rotate", connectOptions: { user: "replic", pass: "first" }, authRetryBaseMs: 100, authRetryMaxMs: 10_000, logger: log });
    cleanup.push(() => ma.close());
    const states: MembershipStateChange[] = [];
    const heard: AuthFailedError[] = [];
    ma.on("state", (s) => void states.push(s));
    ma.on("auth_failed", (e) => void heard.push(e));

    nats.args = ["--user", "replic", "--pass", "second"];
    await nats.restart(200);
    await until(() => ma.state === "auth_failed", 10_000, "the first refusal");
    const dialsAtFirst = proxy.dials;
    const refusedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const dials = proxy.dials - dialsAtFirst;
    // Delays of at least 100, 200, 400, 800, 1600 ms (½ of 200, 400, ...): at most 5 more dials in
    // 3 s; the nats client's own policy (250 ms ± 250) would have made 6 to 12.
    expect(dials).toBeGreaterThanOrEqual(2);
    expect(dials).toBeLessThanOrEqual(5);
    const failures = metric(ma.metrics(), "auth_failures_total");
    expect(failures).toBeGreaterThanOrEqual(dials);
    expect(failures).toBeLessThanOrEqual(dials + 1);
    expect(heard).toHaveLength(failures);
    expect(heard.every((e) => e.code === ("AUTH_FAILED" as string))).toBe(true);
    expect(ma.authError).toBe(heard.at(-1));
    const warnings = log.lines.filter((l) => /refused the credentials/.test(l));
    expect(warnings).toHaveLength(failures);
    expect(warnings.every((l) => /next try in \d+ ms$/.test(l))).toBe(true);
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(3000);

    // The credentials work again: the member comes back and replicates.
    nats.args = ["--user", "replic", "--pass", "first"];
    await nats.restart(100);
    await until(() => ma.state === "connected", 35_000, "reconnect with good credentials");
    expect(ma.authError).toBeUndefined();
    expect(states.map((s) => s.state)).toContain("auth_failed");
    expect(states.at(-1)).toMatchObject({ state: "connected" });
    const mb: NatsMembership = await joinNats(b, { servers: nats.url, cluster: "rotate", connectOptions: { user: "replic", pass: "first" }, logger: logger() });
    cleanup.push(() => mb.close());
    await b.waitFor(a.upsert("items", { id: "after", v: 1 }), 10_000);
  }, 60_000);
});
