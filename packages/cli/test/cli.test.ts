// Every command of the built `replic` bin, as a subprocess on real files, success and error paths.
import Database from "better-sqlite3";
import parsePrometheus from "parse-prometheus-text-format";
import { randomBytes, createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveS3Config, S3Client, parseManifest, markStale } from "@replic/snapshot-s3";
import { startS3, S3_CREDENTIALS, BUCKET, type S3Server } from "../../snapshot-s3/test/helpers/s3.js";
import { openReplica } from "@replic/adapter-node";
import { fileSha, makeReplicDb, replic } from "./helpers.js";

let s3: S3Server;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "replic-cli-"));
beforeAll(async () => {
  s3 = await startS3();
  env = { AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey, AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_S3: s3.endpoint };
});
afterAll(async () => {
  await s3.stop();
});

/** An error run: non-zero exit, nothing on stdout, exactly one line on stderr naming the code. */
function expectOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: string): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(new RegExp(`^replic: ${code}: `));
}

/**
 * An error run with --json: the exit code, and exactly one line on stderr that is a JSON object
 * with this `code` and a message. Returns that object.
 */
function expectJsonError(r: { code: number | null; stdout: string; stderr: string }, code: string, exit = 1): Record<string, unknown> {
  expect(r.code).toBe(exit);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines.length).toBe(1);
  const e = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(e.code).toBe(code);
  expect(typeof e.message).toBe("string");
  expect(e.message).not.toBe("");
  return e;
}

describe("replic --help", () => {
  it("answers on the program and every command, exit 0", async () => {
    const top = await replic(["--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["init-table", "adopt", "status", "snapshot", "restore", "metrics", "verify"]) {
      expect(top.stdout).toContain(cmd);
      const r = await replic([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: replic ${cmd} `));
    }
    const bad = await replic(["frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
    const missing = await replic(["snapshot", join(dir, "x.db")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--to <url>'/);
  });
});

describe("init-table --all and adopt", () => {
  it("give every application table its T_patches, parents first, then turn the existing rows into patches once", async () => {
    const path = join(dir, "shop.db");
    const db = new Database(path);
    db.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name NVARCHAR(40));
      CREATE TABLE orders (id INTEGER PRIMARY KEY, person INTEGER REFERENCES people (id), placed DATETIME, total NUMERIC(10,2));
      CREATE TABLE log (at INTEGER, line TEXT);
      CREATE VIRTUAL TABLE search USING fts5(body);
      CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 50;`);
    const people = db.prepare("INSERT INTO people VALUES (?, ?)");
    const orders = db.prepare("INSERT INTO orders VALUES (?, ?, ?, ?)");
    for (let i = 1; i <= 30; i++) people.run(i, `person ${i}`);
    for (let i = 1; i <= 75; i++) orders.run(i, (i % 30) + 1, `2024-03-${String((i % 28) + 1).padStart(2, "0")} 12:00:00`, i + 0.25);
    db.close();

    // A table the contract refuses: nothing is printed or applied for any table.
    const refused = await replic(["init-table", path, "--all", "--apply"]);
    expectOneLineError(refused, "SCHEMA_INVALID");
    expect(refused.stderr).toMatch(/table "log" has no primary key/);
    const check = new Database(path);
    expect(check.prepare("SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_patches'").pluck().get()).toBe(0);
    check.exec("DROP TABLE log");
    check.close();

    for (const args of [["init-table", path], ["init-table", path, "people", "--all"], ["adopt", path], ["adopt", path, "people", "--all"]]) {
      const usage = await replic(args);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^replic: USAGE: give one <table> or --all\n$/);
      expectJsonError(await replic([...args, "--json"]), "USAGE", 2);
    }
    const printed = await replic(["init-table", path, "--all", "--json"]);
    expect(printed.code).toBe(0);
    const plan = JSON.parse(printed.stdout) as { tables: { table: string; ddl: string }[]; applied: boolean };
    expect(plan.tables.map((t) => t.table)).toEqual(["people", "orders"]); // the referenced table first
    expect(plan.applied).toBe(false);
    expect(plan.tables[1]!.ddl).toMatch(/^CREATE TABLE "orders_patches" \(/);
    const applied = await replic(["init-table", path, "--all", "--apply"]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(plan.tables[0]!.ddl);
    // Again: every table replicates already, nothing left to do.
    expect(JSON.parse((await replic(["init-table", path, "--all", "--apply", "--json"])).stdout)).toEqual({ tables: [], applied: true });

    expectOneLineError(await replic(["adopt", path, "nope"]), "UNKNOWN_TABLE");
    expect(expectJsonError(await replic(["adopt", path, "people", "--batch-size", "0", "--json"]), "INVALID_OPTION").message).toMatch(/batchSize/);
    const one = await replic(["adopt", path, "people", "--batch-size", "7"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe("people: 30 row(s) adopted\n");
    const all = await replic(["adopt", path, "--all", "--json"]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ tables: [{ table: "people", adopted: 0 }, { table: "orders", adopted: 75 }], adopted: 75 });
    expect(JSON.parse((await replic(["adopt", path, "--all", "--json"])).stdout).adopted).toBe(0);

    // The rows are now patches of this database's replica: an empty peer receives all of them.
    const a = new Database(path);
    expect(a.prepare("SELECT count(*) FROM orders_patches").pluck().get()).toBe(75);
    const ra = openReplica(a, { heartbeatMs: 0 });
    const b = new Database(":memory:");
    b.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name NVARCHAR(40));
      CREATE TABLE orders (id INTEGER PRIMARY KEY, person INTEGER REFERENCES people (id), placed DATETIME, total NUMERIC(10,2));`);
    b.exec(plan.tables.map((t) => t.ddl).join("\n"));
    // Foreign keys enforced (better-sqlite3's default): catch-up serves table by table, so an
    // order may arrive before its person; it is parked until the person is shown.
    expect(b.pragma("foreign_keys", { simple: true })).toBe(1);
    const rb = openReplica(b, { heartbeatMs: 0 });
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    ra.addPeer(rb.peerId, (m) => toB.push(m));
    rb.addPeer(ra.peerId, (m) => toA.push(m));
    for (let round = 0; round < 10; round++) {
      ra.tick();
      rb.tick();
      for (const m of toB.splice(0)) rb.receive(ra.peerId, m);
      for (const m of toA.splice(0)) ra.receive(rb.peerId, m);
    }
    const rows = (d: Database.Database) => d.prepare("SELECT o.id, typeof(o.placed), o.placed, typeof(o.total), o.total, p.name FROM orders o JOIN people p ON p.id = o.person ORDER BY o.id").raw().all();
    expect(rows(b)).toEqual(rows(a));
    expect(rows(b).length).toBe(75);
    expect(rows(b)[0]).toEqual([1, "text", "2024-03-02 12:00:00", "real", 1.25, "person 2"]);
    expect(b.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
    expect(rb.parked()).toEqual([]);
    ra.close();
    rb.close();
    a.close();
    b.close();
  });
});

describe("init-table", () => {
  it("prints, applies, and refuses what it cannot do", async () => {
    const path = join(dir, "plain.db");
    const db = new Database(path);
    db.exec("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL DEFAULT '', stars INTEGER)");
    db.close();
    const printed = await replic(["init-table", path, "notes"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^CREATE TABLE "notes_patches" \(/);
    expect(printed.stdout).toContain(`PRIMARY KEY ("_peerId", "_sequenceId")`);
    expect(printed.stdout).toContain(`CREATE INDEX "notes_patches_row" ON "notes_patches" ("id", "_patchedAt", "_peerId", "_sequenceId");`);
    const json = await replic(["init-table", path, "notes", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ table: "notes", ddl: printed.stdout.trimEnd(), applied: false });
    const check = new Database(path);
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'notes_patches'").pluck().get()).toBe(0);
    check.close();

    const applied = await replic(["init-table", path, "notes", "--apply"]);
    expect(applied.code).toBe(0);
    const after = new Database(path);
    const cols = after.prepare("SELECT name FROM pragma_table_info('notes_patches')").pluck().all();
    expect(cols).toEqual(["id", "body", "stars", "_patchedAt", "_sequenceId", "_peerId", "_nulls"]);
    after.close();
    expectOneLineError(await replic(["init-table", path, "notes", "--apply"]), "EXISTS");
    expectOneLineError(await replic(["init-table", path, "nope"]), "SCHEMA_INVALID");

    // Tables the contract refuses get no DDL, printed or applied: the same check as openReplica
    // (printing without --apply creates nothing either).
    const loose = new Database(path);
    loose.exec("CREATE TABLE log (at INTEGER, line TEXT); CREATE TABLE drafts (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
    loose.close();
    const noKey = await replic(["init-table", path, "log", "--apply"]);
    expectOneLineError(noKey, "SCHEMA_INVALID");
    expect(noKey.stderr).toMatch(/table "log" has no primary key/);
    // NOT NULL without DEFAULT is accepted (a row stays parked until the column has a value).
    const notNull = await replic(["init-table", path, "drafts"]);
    expect(notNull.code).toBe(0);
    expect(notNull.stdout).toMatch(/CREATE TABLE "drafts_patches"/);
    const still = new Database(path);
    expect(still.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('log_patches', 'drafts_patches')").pluck().get()).toBe(0);
    still.close();
    expectOneLineError(await replic(["init-table", join(dir, "absent.db"), "notes"]), "NOT_FOUND");
    expect(existsSync(join(dir, "absent.db"))).toBe(false);
  });
});

describe("status and metrics", () => {
  it("report a replic database, as text and JSON", async () => {
    const path = join(dir, "st.db");
    const peerId = makeReplicDb(path);
    const text = await replic(["status", path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`peer id\\s+${peerId}`));
    const s = JSON.parse((await replic(["status", path, "--json"])).stdout);
    expect(s).toMatchObject({ peerId, tables: ["items"], sequence: 62, schemaVersion: 1, patches: { items: 62 }, staleOrigins: [] });
    expect(s.origins).toEqual([expect.objectContaining({ peerId, contiguous: 62, highest: 62, missing: 0 })]);
    expect(s.sizeBytes).toBeGreaterThan(0);

    const m = await replic(["metrics", path]);
    expect(m.code).toBe(0);
    const families = parsePrometheus(m.stdout);
    for (const f of families) {
      expect(f.help).toBeTruthy();
      if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
    }
    const seq = families.find((f) => f.name === "replic_sequence");
    expect(Number(seq!.metrics[0]!.value)).toBe(62);
    expect(families.find((f) => f.name === "replic_peer_lag_seconds")?.type).toBe("GAUGE"); // no neighbours offline: no series
    // The core's merge-batch histogram, empty: this replica received nothing.
    expect(families.find((f) => f.name === "replic_merge_batch_duration_seconds")).toMatchObject({ type: "HISTOGRAM", metrics: [{ count: "0", buckets: { "+Inf": "0" } }] });
    const origin = families.find((f) => f.name === "replic_origin_contiguous_sequence");
    expect(origin!.metrics).toEqual([{ labels: { origin: String(peerId) }, value: "62" }]);

    const plain = join(dir, "plain2.db");
    new Database(plain).exec("CREATE TABLE t (a)");
    expectOneLineError(await replic(["status", plain]), "NOT_REPLIC");
    expectOneLineError(await replic(["metrics", plain]), "NOT_REPLIC");
    expectOneLineError(await replic(["status", join(dir, "absent.db")]), "NOT_FOUND");
  });
});

describe("verify", () => {
  it("passes a healthy database and catches rows that differ from their patches", async () => {
    const path = join(dir, "v.db");
    makeReplicDb(path);
    const ok = await replic(["verify", path, "--json"]);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report).toMatchObject({ ok: true, integrity: ["ok"], contract: "ok" });
    expect(report.tables[0]).toMatchObject({ table: "items", rows: 50, checkedRows: 50, mismatchedRows: 0, missingRows: 0 });
    expect((await replic(["verify", path])).stdout).toMatch(/items: 50 rows, 62 patches, 50 checked/);

    // Direct writes behind replic's back: one changed value, one explicit NULL lost, one row gone.
    const db = new Database(path);
    db.exec("UPDATE items SET n = 999 WHERE id = 'i3'; UPDATE items SET title = 'back' WHERE id = 'i2'; DELETE FROM items WHERE id = 'i4'");
    db.close();
    const bad = await replic(["verify", path, "--json"]);
    expect(bad.code).toBe(1);
    const r = JSON.parse(bad.stdout);
    expect(r.ok).toBe(false);
    expect(r.tables[0]).toMatchObject({ mismatchedRows: 2, missingRows: 1, examples: ['["i2"]', '["i3"]'] });
    expect(expectJsonError(bad, "VERIFY_FAILED").message).toMatch(/rows differ from their patches$/);
    expect((await replic(["verify", path])).stderr.trim()).toMatch(/^replic: VERIFY_FAILED: .*rows differ from their patches$/);
    // A parked row (merged, not shown: it breaks a constraint of T) is not missing.
    const parked = new Database(path);
    parked.exec(`INSERT INTO _replic_parked (tbl, "key", reason, detail) VALUES ('items', '["i4"]', 'incomplete', 'title')`);
    parked.close();
    expect(JSON.parse((await replic(["verify", path, "--json"])).stdout).tables[0]).toMatchObject({ mismatchedRows: 2, missingRows: 0 });

    // A broken contract (T_patches lost a column) is reported, not crashed on.
    const broken = join(dir, "vb.db");
    makeReplicDb(broken);
    const b = new Database(broken);
    b.exec("ALTER TABLE items ADD COLUMN extra TEXT");
    b.close();
    const c = await replic(["verify", broken, "--json"]);
    expect(c.code).toBe(1);
    expect(JSON.parse(c.stdout).contract).toMatch(/extra/);
  });

  it("fails on a database whose pages are damaged", async () => {
    const path = join(dir, "dmg.db");
    makeReplicDb(path, 2000);
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    randomBytes(pageSize).copy(bytes, Math.floor(pages / 2) * pageSize);
    const damaged = join(dir, "dmg2.db");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(damaged, bytes);
    const r = await replic(["verify", damaged]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^replic: (VERIFY_FAILED|SQLITE_CORRUPT|ERROR): /);
    const j = await replic(["verify", damaged, "--json"]);
    expect(["VERIFY_FAILED", "SQLITE_CORRUPT", "ERROR"]).toContain(expectJsonError(j, String(JSON.parse(j.stderr).code)).code);
  });
});

describe("verify --against", () => {
  it("reports exactly the rows that differ between two replicas' databases, with their keys and key ranges", async () => {
    const a = join(dir, "against-a.db");
    const b = join(dir, "against-b.db");
    makeReplicDb(a);
    copyFileSync(a, b);
    const same = await replic(["verify", a, "--against", b, "--json"]);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ ok: true, tablesOnlyHere: [], tablesOnlyThere: [], tables: [{ table: "items", rowsHere: 50, rowsThere: 50, differing: 0 }] });

    const db = new Database(b);
    db.exec("UPDATE items SET n = -1 WHERE id IN ('i30', 'i31'); DELETE FROM items WHERE id = 'i4'; INSERT INTO items (id, title) VALUES ('i99', 'x')");
    db.exec("UPDATE items SET title = 'T7' WHERE id = 'i7'"); // a change of case only: compared byte for byte
    db.close();
    const diff = await replic(["verify", a, "--against", b, "--json"]);
    expect(diff.code).toBe(1);
    expect(expectJsonError(diff, "REPLICAS_DIFFER").message).toContain("differ");
    const t = JSON.parse(diff.stdout).tables[0];
    expect(t).toEqual({
      table: "items",
      rowsHere: 50,
      rowsThere: 50,
      differing: 5,
      changed: 3,
      onlyHere: 1,
      onlyThere: 1,
      columnsOnlyHere: [],
      columnsOnlyThere: [],
      keys: [
        { key: '["i30"]', kind: "changed" },
        { key: '["i31"]', kind: "changed" },
        { key: '["i4"]', kind: "only-here" },
        { key: '["i7"]', kind: "changed" },
        { key: '["i99"]', kind: "only-there" },
      ],
      ranges: [
        { from: '["i30"]', to: '["i31"]', rows: 2 },
        { from: '["i4"]', to: '["i4"]', rows: 1 },
        { from: '["i7"]', to: '["i7"]', rows: 1 },
        { from: '["i99"]', to: '["i99"]', rows: 1 },
      ],
    });
    // --limit caps the lists, not the counts.
    const capped = JSON.parse((await replic(["verify", a, "--against", b, "--json", "--limit", "1"])).stdout).tables[0];
    expect(capped).toMatchObject({ differing: 5, keys: [{ key: '["i30"]', kind: "changed" }], ranges: [{ from: '["i30"]', to: '["i31"]', rows: 2 }] });
    const text = await replic(["verify", a, "--against", b]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("table items: 50 rows here, 50 there; 5 differ (3 changed, 1 only here, 1 only there)");
    expect(text.stdout).toContain('["i30"] .. ["i31"] (2 rows)');
    expect(text.stderr.trim()).toMatch(/^replic: REPLICAS_DIFFER: /);
    // Both files are left as they were (the other is only attached for reading).
    expect(new Database(b).prepare("SELECT count(*) AS n FROM items").get()).toEqual({ n: 50 });
  });

  it("refuses a missing file, an unknown table and a bad limit, typed", async () => {
    const a = join(dir, "against-c.db");
    makeReplicDb(a, 3);
    expectJsonError(await replic(["verify", a, "--against", join(dir, "against-absent.db"), "--json"]), "NOT_FOUND");
    expectJsonError(await replic(["verify", join(dir, "against-absent.db"), "--against", a, "--json"]), "NOT_FOUND");
    const other = join(dir, "against-d.db");
    copyFileSync(a, other);
    expectJsonError(await replic(["verify", a, "--against", other, "--table", "nope", "--json"]), "UNKNOWN_TABLE");
    expectOneLineError(await replic(["verify", a, "--against", other, "--limit", "-2"]), "INVALID_OPTION");
    const plain = join(dir, "against-plain.db");
    new Database(plain).exec("CREATE TABLE t (a)");
    const r = await replic(["verify", a, "--against", plain, "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, tablesOnlyHere: ["items"], tablesOnlyThere: [], tables: [] });
    expectJsonError(r, "REPLICAS_DIFFER");
    expect((await replic(["verify", a, "--against", other, "--table", "items"])).code).toBe(0);
    // Under Bun (bun:sqlite) as well.
    expect((await replic(["verify", a, "--against", other, "--table", "items"], {}, "bun")).code).toBe(0);
    expectJsonError(await replic(["verify", a, "--against", plain, "--json"], {}, "bun"), "REPLICAS_DIFFER");
  });
});

describe("--json errors", () => {
  it("every command reports its failure as one JSON object on stderr, exit non-zero", async () => {
    const plain = join(dir, "json-plain.db");
    const db = new Database(plain);
    db.exec("CREATE TABLE log (at INTEGER, line TEXT)");
    db.close();
    const absent = join(dir, "json-absent.db");

    const noKey = await replic(["init-table", plain, "log", "--apply", "--json"]);
    expect(noKey.stdout).toBe("");
    expect(expectJsonError(noKey, "SCHEMA_INVALID")).toEqual({
      code: "SCHEMA_INVALID",
      message: 'table "log" has no primary key; a replicated table needs one',
      table: "log",
    });
    expect(expectJsonError(await replic(["init-table", absent, "log", "--json"]), "NOT_FOUND").message).toContain(absent);
    expectJsonError(await replic(["status", plain, "--json"]), "NOT_REPLIC");
    expectJsonError(await replic(["status", absent, "--json"]), "NOT_FOUND");
    expectJsonError(await replic(["metrics", plain, "--json"]), "NOT_REPLIC");
    expectJsonError(await replic(["verify", absent, "--json"]), "NOT_FOUND");
    expectJsonError(await replic(["snapshot", plain, "--to", "/tmp/x", "--json"], env), "INVALID_OPTION");
    expectJsonError(await replic(["restore", "--from", "s3://snapshots/nothing-here", join(dir, "json-never.db"), "--json"], env), "SNAPSHOT_NOT_FOUND");
    // Usage errors too (exit 2), in place of commander's text.
    expect(expectJsonError(await replic(["frobnicate", "--json"]), "USAGE", 2).message).toMatch(/unknown command 'frobnicate'/);
    expect(expectJsonError(await replic(["snapshot", plain, "--json"]), "USAGE", 2).message).toMatch(/required option '--to <url>'/);
    expect(expectJsonError(await replic(["status", "--json"]), "USAGE", 2).message).toMatch(/missing required argument 'db'/);
    // A failing verify still prints its report on stdout; the error is on stderr.
    const v = join(dir, "json-v.db");
    makeReplicDb(v);
    const broken = new Database(v);
    broken.exec("UPDATE items SET n = -1 WHERE id = 'i3'");
    broken.close();
    const failed = await replic(["verify", v, "--json"]);
    expect(JSON.parse(failed.stdout).ok).toBe(false);
    expectJsonError(failed, "VERIFY_FAILED");
    // On Bun as well.
    expectJsonError(await replic(["status", absent, "--json"], {}, "bun"), "NOT_FOUND");
  });

  it("metrics --json wraps the same exposition", async () => {
    const path = join(dir, "json-m.db");
    makeReplicDb(path, 3);
    const r = await replic(["metrics", path, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.path).toBe(path);
    const seq = parsePrometheus(out.metrics).find((f) => f.name === "replic_sequence");
    expect(Number(seq!.metrics[0]!.value)).toBe(3 + 1 + 2); // 3 rows, 1 update (i0), a delete and a NULL
  });
});

describe("snapshot and restore against S3", () => {
  it("round-trips a database; each restore is a new peer; data is never overwritten without --force", async () => {
    const src = join(dir, "src.db");
    const srcPeer = makeReplicDb(src);
    const snap = await replic(["snapshot", src, "--to", "s3://snapshots/cli", "--json"], env);
    expect(snap.stderr).toBe("");
    expect(snap.code).toBe(0);
    const out = JSON.parse(snap.stdout);
    expect(out.manifest.peerId).toBe(srcPeer);
    expect(out.key).toMatch(new RegExp(`^cli/${srcPeer}/snap-`));
    const text = await replic(["snapshot", src, "--to", "s3://snapshots/cli"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/uploaded\s+s3:\/\/snapshots\/cli\//);

    const r1 = join(dir, "restored1.db");
    const r2 = join(dir, "restored2.db");
    const a = await replic(["restore", "--from", "s3://snapshots/cli", r1, "--json"], env);
    expect(a.code).toBe(0);
    const b = await replic(["restore", "--from", "s3://snapshots/cli", r2], env);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/new peer id\s+\d+/);
    const id1 = JSON.parse(a.stdout).peerId;
    const id2 = JSON.parse((await replic(["status", r2, "--json"])).stdout).peerId;
    expect(new Set([srcPeer, id1, id2]).size).toBe(3);
    expect((await replic(["verify", r1])).code).toBe(0);

    const before = fileSha(r1);
    expectOneLineError(await replic(["restore", "--from", "s3://snapshots/cli", r1], env), "HAS_DATA");
    expect(fileSha(r1)).toBe(before);
    const forced = await replic(["restore", "--from", "s3://snapshots/cli", r1, "--force", "--json"], env);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).peerId).not.toBe(id1);

    // A stale marker (written by markStaleOnEvent in the app) shows in status and lets restore re-seed without --force.
    markStale(r2, "fell behind retention");
    const st = JSON.parse((await replic(["status", r2, "--json"])).stdout);
    expect(st.staleMarker).toBe("fell behind retention");
    const reseeded = await replic(["restore", "--from", "s3://snapshots/cli", r2, "--json"], env);
    expect(reseeded.code).toBe(0);
    expect(JSON.parse(reseeded.stdout).peerId).not.toBe(id2);
    expect(JSON.parse((await replic(["status", r2, "--json"])).stdout).staleMarker).toBeNull();
  });

  it("fails with one line and exit 1 on wrong credentials, a missing bucket, no snapshot, bad URLs", async () => {
    const src = join(dir, "src2.db");
    makeReplicDb(src);
    expectOneLineError(await replic(["snapshot", src, "--to", "s3://snapshots/x"], { ...env, AWS_ACCESS_KEY_ID: "WRONGKEY" }), "S3_AUTH");
    expectOneLineError(await replic(["snapshot", src, "--to", "s3://snapshots/x"], { ...env, AWS_ACCESS_KEY_ID: "" }), "S3_AUTH");
    expectOneLineError(await replic(["snapshot", src, "--to", "s3://missing-bucket/x"], env), "S3_NOT_FOUND");
    expectOneLineError(await replic(["snapshot", src, "--to", "/tmp/x"], env), "INVALID_OPTION");
    const target = join(dir, "never.db");
    expectOneLineError(await replic(["restore", "--from", "s3://snapshots/nothing-here", target], env), "SNAPSHOT_NOT_FOUND");
    expectOneLineError(await replic(["restore", "--from", "s3://missing-bucket/x", target], env), "S3_NOT_FOUND");
    expect(existsSync(target)).toBe(false);
    // --endpoint overrides the environment (here: a closed port, after retries).
    const down = await replic(["snapshot", src, "--to", "s3://snapshots/x", "--endpoint", "http://127.0.0.1:9", "--retries", "1"], env);
    expectOneLineError(down, "SNAPSHOT_UPLOAD");
  });

  it("refuses corrupt snapshots (checksum, integrity) and leaves the local database untouched", async () => {
    const src = join(dir, "src3.db");
    makeReplicDb(src, 500);
    const up = JSON.parse((await replic(["snapshot", src, "--to", "s3://snapshots/corrupt", "--json"], env)).stdout);
    const local = join(dir, "local3.db");
    makeReplicDb(local);
    const before = fileSha(local);
    const client = new S3Client(resolveS3Config({ endpoint: s3.endpoint, credentials: S3_CREDENTIALS }));

    // 1. The object no longer matches the manifest's checksum.
    await client.put(BUCKET, up.manifest.object, new Uint8Array(up.manifest.size).fill(7));
    expectOneLineError(await replic(["restore", "--from", "s3://snapshots/corrupt", local, "--force"], env), "SNAPSHOT_CORRUPT");
    expect(fileSha(local)).toBe(before);

    // 2. Checksums match, but pages inside are damaged: integrity_check refuses it.
    const db = new Database(src);
    const vac = join(dir, "vac3.db");
    db.exec(`VACUUM INTO '${vac}'`);
    db.close();
    const bytes = readFileSync(vac);
    const pageSize = bytes.readUInt16BE(16);
    randomBytes(pageSize).copy(bytes, Math.floor(bytes.length / pageSize / 2) * pageSize);
    const gz = gzipSync(bytes);
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const manifestKey = up.key.replace(/snap-\d{15}/, `snap-${String(up.manifest.createdMs + 1000).padStart(15, "0")}`);
    const objectKey = manifestKey.replace(/\.manifest\.json$/, ".db.gz");
    const manifest = { ...up.manifest, object: objectKey, createdMs: up.manifest.createdMs + 1000, size: gz.length, sha256: sha(gz), dbSize: bytes.length, dbSha256: sha(bytes) };
    parseManifest(JSON.stringify(manifest), manifestKey); // well-formed: only the pages are bad
    await client.put(BUCKET, objectKey, gz);
    await client.put(BUCKET, manifestKey, JSON.stringify(manifest));
    const r = await replic(["restore", "--from", "s3://snapshots/corrupt", local, "--force"], env);
    expectOneLineError(r, "SNAPSHOT_CORRUPT");
    expect(r.stderr).toMatch(/integrity_check|malformed/);
    expect(fileSha(local)).toBe(before);
  });
});

describe("on Bun", () => {
  it("runs status, verify, snapshot and restore with bun:sqlite", async () => {
    const src = join(dir, "bun-src.db");
    const peer = makeReplicDb(src);
    const s = await replic(["status", src, "--json"], {}, "bun");
    expect(s.stderr).toBe("");
    expect(JSON.parse(s.stdout)).toMatchObject({ peerId: peer, binding: "bun:sqlite" });
    expect((await replic(["verify", src], {}, "bun")).code).toBe(0);
    expect((await replic(["snapshot", src, "--to", "s3://snapshots/bun-cli"], env, "bun")).code).toBe(0);
    const target = join(dir, "bun-restored.db");
    const r = await replic(["restore", "--from", "s3://snapshots/bun-cli", target, "--json"], env, "bun");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).peerId).not.toBe(peer);
    expectOneLineError(await replic(["status", join(dir, "absent.db")], {}, "bun"), "NOT_FOUND");
  });
});
