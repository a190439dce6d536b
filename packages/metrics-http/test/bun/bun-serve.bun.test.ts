// metricsHandler behind a real Bun.serve on loopback, a bun:sqlite replica, parsed as Prometheus text.
import { Database } from "bun:sqlite";
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { openReplica } from "@replic/adapter-bun";
import { metricsHandler } from "../../src/index";

describe("metricsHandler under Bun.serve", () => {
  it("serves parseable metrics with the replica's values", async () => {
    const db = new Database(":memory:");
    const r = openReplica(db, { peerId: 7, heartbeatMs: 0 });
    r.migrate([
      {
        up: `CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER);
             CREATE TABLE t_patches (id TEXT, v INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
               _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;`,
        down: "DROP TABLE t_patches; DROP TABLE t;",
      },
    ]);
    for (let i = 0; i < 3; i++) r.upsert("t", { id: `k${i}`, v: i });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: metricsHandler(r) });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      const families = parsePrometheus(await res.text());
      for (const f of families) {
        expect(f.help).toBeTruthy();
        if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
      }
      const get = (name: string) => Number(families.find((f) => f.name === name)?.metrics[0]?.value);
      expect(get("replic_patches_local_total")).toBe(3);
      expect(get("replic_origin_contiguous_sequence")).toBe(3);
      expect((await fetch(`http://127.0.0.1:${server.port}/x`)).status).toBe(404);
    } finally {
      server.stop(true);
      r.close();
      db.close();
    }
  });
});
