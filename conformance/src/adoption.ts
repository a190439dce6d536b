/**
 * An existing application database replicated as it is: a populated music store (the app's own
 * DDL, foreign keys, NVARCHAR, NUMERIC(10,2), text dates in DATETIME) adopted on one peer, two
 * empty peers catching up; and values of every storage class in NUMERIC, DATETIME and untyped
 * columns, stored byte-identically by a writer, its receivers and every other binding.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { coreStamp } from "./determinism.js";
import { Harness } from "./harness.js";
import { insertSql, MUSIC_STORE_DDL, MUSIC_STORE_TABLES, musicStoreRows } from "./music-store.js";
import type { ConformanceBinding, ReplicaLike, SqlValue } from "./types.js";
import { capture, dumpDigest, dumpTable, SINK } from "./util.js";

/** Leaves this binding's result under `dir` and returns the bindings whose results (same core build) equal it. */
function compareAcrossBindings(dir: string, name: string, content: string): string[] {
  const path = join(tmpdir(), dir);
  mkdirSync(path, { recursive: true });
  const stamp = coreStamp();
  const file = [`core ${stamp}`, content].join("\n");
  const tmp = join(path, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, file);
  renameSync(tmp, join(path, `${name}.txt`));
  const compared: string[] = [];
  if (stamp === "unknown") return compared;
  for (const other of readdirSync(path)) {
    if (!other.endsWith(".txt") || other === `${name}.txt`) continue;
    const text = readFileSync(join(path, other), "utf8");
    if (!text.startsWith(`core ${stamp}\n`)) continue;
    expect(text, `result written by ${other} equals ${name}'s`).toBe(file);
    compared.push(other.replace(/\.txt$/, ""));
  }
  return compared;
}

/** Rounds of a lossless network (every replica ticks, every message is delivered) until `done`. */
function settle(replicas: ReplicaLike[], queue: [ReplicaLike, number, Uint8Array][], done: () => boolean): void {
  for (let round = 0; round < 200; round++) {
    for (const r of replicas) r.tick();
    while (queue.length > 0) {
      const [to, from, m] = queue.shift()!;
      to.receive(from, m);
    }
    if (done()) return;
  }
  throw new Error("conformance: the network did not settle");
}

/** The contiguous head a replica holds of an origin (status().origins). */
function heldOf(r: ReplicaLike, origin: number): number {
  const s = r.status() as { origins: { peerId: number; contiguous: number }[] };
  return s.origins.find((o) => o.peerId === origin)?.contiguous ?? 0;
}

function link(queue: [ReplicaLike, number, Uint8Array][], a: ReplicaLike, b: ReplicaLike): void {
  a.addPeer(b.peerId, (m) => queue.push([b, a.peerId, m]));
  b.addPeer(a.peerId, (m) => queue.push([a, b.peerId, m]));
}

const TYPED = `CREATE TABLE typed (id INTEGER PRIMARY KEY, n NUMERIC, price NUMERIC(10,2), dt DATETIME, flag BOOLEAN, u, name NVARCHAR(40), r REAL, i BIGINT)`;

/** Values of every storage class, including text that reads as a number and the reverse. */
const VALUES: SqlValue[] = [
  "2024-02-29 23:59:59",
  "2024-02-29T23:59:59.123Z",
  "12.50",
  "0.1",
  " 42 ",
  "-0",
  "1e3",
  "0x10",
  "12abc",
  "-.7e-248", // SQLite 3.51 and 3.53 read this text differently in the last bit
  "9223372036854775807",
  "9223372036854775808",
  "",
  "Zoë 😀",
  12.5,
  0.1,
  -0,
  1e300,
  5e-324,
  2 ** 53,
  2 ** 60,
  2 ** 63,
  Number.MAX_SAFE_INTEGER,
  2n ** 62n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  0,
  -1,
  new Uint8Array([]),
  new Uint8Array([0, 255, 7]),
  null,
];

export function adoptionSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());

  /** A database with the music store's schema, its `T_patches` tables, and (when `load`) its rows. */
  function store(load: boolean): Db {
    const db = h.db();
    const driver = b.adapter.createDriver(db);
    b.exec(db, MUSIC_STORE_DDL);
    if (load) {
      driver.exec("BEGIN");
      for (const { table, rows } of musicStoreRows()) {
        for (const row of rows) driver.prepare(insertSql(table, row)).run(Object.values(row));
      }
      driver.exec("COMMIT");
    }
    // What `replic init-table <db> --all --apply` writes.
    b.exec(db, MUSIC_STORE_TABLES.map((t) => b.adapter.patchesDdl(db, t)).join("\n"));
    return db;
  }

  const dumpAll = (db: Db) => MUSIC_STORE_TABLES.map((t) => dumpTable(b, db, t)).join("\n");

  describe("adopting an existing database", () => {
    it("a populated music store adopted on one peer: two empty peers catch up and hold identical tables", () => {
      const a = store(true);
      // Foreign keys enforced where the rows are adopted.
      b.exec(a, "PRAGMA foreign_keys = ON");
      const written = dumpAll(a);
      const expectedRows = musicStoreRows().reduce((n, t) => n + t.rows.length, 0);
      expect(expectedRows).toBeGreaterThan(2500);
      for (const needle of ["text:\"2021-01-01", "real:0.99", "real:1.99", "int:1152921504606846977", "blob:", "Zoë", "null"]) {
        expect(written.includes(needle), `the store holds ${needle}`).toBe(true);
      }

      const ra = h.replica(a, { peerId: 1 });
      const progress: number[] = [];
      let adopted = 0;
      for (const t of MUSIC_STORE_TABLES) adopted += ra.adopt(t, { batchSize: 400, onProgress: (p) => progress.push(p.adopted) });
      expect(adopted).toBe(expectedRows);
      expect(progress.length).toBeGreaterThan(MUSIC_STORE_TABLES.length); // several batches for the large tables
      expect(dumpAll(a)).toBe(written); // adoption writes patches, not different rows
      for (const t of MUSIC_STORE_TABLES) expect(ra.adopt(t), `a second adopt of ${t}`).toBe(0);

      // Two empty peers in a line A - B - C: C receives everything through B.
      const bDb = store(false);
      const cDb = store(false);
      // Without parking, a child row could reach an empty peer before its parent (catch-up
      // serves table by table): these two check the foreign keys once caught up instead.
      for (const db of [bDb, cDb]) b.exec(db, "PRAGMA foreign_keys = OFF");
      const rb = h.replica(bDb, { peerId: 2 });
      const rc = h.replica(cDb, { peerId: 3 });
      const queue: [ReplicaLike, number, Uint8Array][] = [];
      link(queue, ra, rb);
      link(queue, rb, rc);
      settle([ra, rb, rc], queue, () => heldOf(rb, 1) === adopted && heldOf(rc, 1) === adopted);

      expect(dumpAll(bDb)).toBe(written);
      expect(dumpAll(cDb)).toBe(written);
      for (const db of [a, bDb, cDb]) expect(b.all(db, "PRAGMA foreign_key_check")).toEqual([]);
      for (const t of MUSIC_STORE_TABLES) expect(rc.adopt(t), `nothing to adopt on a peer that received ${t}`).toBe(0);

      const compared = compareAcrossBindings("replic-music-store", b.name, `digest ${dumpDigest(written)}\n${written}`);
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] music store ${dumpDigest(written)}; also checked against: ${compared.join(", ") || "(none yet)"}`);
    }, 120_000);
  });

  describe("SQLite's own typing", () => {
    it("every storage class in NUMERIC, DATETIME, BOOLEAN, NVARCHAR and untyped columns round-trips byte-identically", () => {
      const migrations = [{ up: `${TYPED};\nCREATE TABLE typed_patches (id INTEGER, n NUMERIC, price NUMERIC(10,2), dt DATETIME, flag BOOLEAN, u, name NVARCHAR(40), r REAL, i BIGINT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`, down: "DROP TABLE typed_patches; DROP TABLE typed;" }];
      const origin = h.open(migrations, { peerId: 11 });
      const sent = capture(origin.r, SINK);
      const columns = ["n", "price", "dt", "flag", "u", "name", "r", "i"];
      let refused = 0;
      origin.r.transaction(() => {
        VALUES.forEach((v, k) => {
          for (const [c, col] of columns.entries()) {
            const row = { id: k * columns.length + c + 1, [col]: v };
            try {
              origin.r.upsert("typed", row);
            } catch (err) {
              // Only a non-integer number in a TEXT column is refused (its text differs between SQLite versions).
              expect(col === "name" && typeof v === "number" && !Number.isSafeInteger(v), `${col} refused ${String(v)}`).toBe(true);
              refused++;
            }
          }
        });
      });
      expect(refused).toBe(VALUES.filter((v) => typeof v === "number" && !Number.isSafeInteger(v)).length);
      const target = h.open(migrations, { peerId: 12 });
      target.r.addPeer(11, () => {});
      for (const m of sent) target.r.receive(11, m);
      const dump = dumpTable(b, origin.db, "typed");
      expect(dumpTable(b, target.db, "typed")).toBe(dump);
      // Text dates stay text; a decimal text is a REAL; text that is not a number stays text.
      for (const needle of ['text:"2024-02-29 23:59:59"', "real:12.5", 'text:"12abc"', 'text:"0x10"', "int:42", "int:9223372036854775807", "int:-9223372036854775808", "blob:00ff07"]) {
        expect(dump.includes(needle), `dump holds ${needle}`).toBe(true);
      }
      const compared = compareAcrossBindings("replic-typing", b.name, dump);
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] typing ${dumpDigest(dump)}; also checked against: ${compared.join(", ") || "(none yet)"}`);
    });
  });
}
