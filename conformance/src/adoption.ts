/**
 * An existing application database replicated as it is: a populated music store (the app's own
 * DDL, foreign keys, NVARCHAR, NUMERIC(10,2), text dates in DATETIME) adopted on one peer, two
 * empty peers catching up; concurrent multi-table transactions on two peers over a lossy network,
 * a third replica, rows parked on the way and none left; and values of every storage class in NUMERIC, DATETIME and untyped
 * columns, stored byte-identically by a writer, its receivers and every other binding.
 *
 * Written against the asynchronous world (world.ts): the synchronous bindings run it through
 * `syncWorld`, the Durable Object binding with each database an object inside workerd. Each
 * replica needs only its own database; the results compared across bindings are files the test
 * process leaves in the temporary directory, whatever runtime the replicas live in.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { coreStamp } from "./determinism.js";
import { insertSql, MUSIC_STORE_DDL, MUSIC_STORE_TABLES, musicStoreRows, type MusicStoreSize } from "./music-store.js";
import type { ConformanceBinding, SqlValue } from "./types.js";
import { dumpDigest, FakeClock, modelDump, patchesOf, patchKey, prng, shuffledWithDuplicates, SINK, type Patch } from "./util.js";
import { captureAsync, syncWorld, type TxWrite, type World, type WorldDb, type WorldReplica } from "./world.js";

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

/** Messages in flight: to, from, bytes. */
type Queue = [WorldReplica, number, Uint8Array][];

/** Rounds of a lossless network (every replica ticks, every message is delivered) until `done`. */
async function settle(replicas: WorldReplica[], queue: Queue, done: () => Promise<boolean>): Promise<void> {
  for (let round = 0; round < 200; round++) {
    for (const r of replicas) await r.tick();
    while (queue.length > 0) {
      const [to, from, m] = queue.shift()!;
      await to.receive(from, m);
    }
    if (await done()) return;
  }
  throw new Error("conformance: the network did not settle");
}

/** The contiguous head a replica holds of an origin (status().origins). */
async function heldOf(r: WorldReplica, origin: number): Promise<number> {
  const s = (await r.status()) as { origins: { peerId: number; contiguous: number }[] };
  return s.origins.find((o) => o.peerId === origin)?.contiguous ?? 0;
}

async function link(queue: Queue, a: WorldReplica, b: WorldReplica): Promise<void> {
  await a.addPeer(b.peerId, (m) => void queue.push([b, a.peerId, m]));
  await b.addPeer(a.peerId, (m) => void queue.push([a, b.peerId, m]));
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
  adoptionBlock(syncWorld(b));
}

/** The adoption block on any world (syncWorld for the synchronous bindings). */
export function adoptionBlock(w: World): void {
  afterEach(() => w.closeAll());

  /** A database with the music store's schema, its `T_patches` tables, and (when `load`) its rows. */
  async function store(load: boolean, size?: MusicStoreSize): Promise<WorldDb> {
    const db = await w.db();
    // Foreign keys enforced from the start (better-sqlite3's default; bun:sqlite and the WASM
    // builds start with them off): the rows load in the application's order, parents first.
    await db.exec("PRAGMA foreign_keys = ON");
    await db.exec(MUSIC_STORE_DDL);
    if (load) await db.load(musicStoreRows(19, size).flatMap(({ table, rows }) => rows.map((row) => ({ sql: insertSql(table, row), params: Object.values(row) }))));
    // What `replic init-table <db> --all --apply` writes.
    const ddl: string[] = [];
    for (const t of MUSIC_STORE_TABLES) ddl.push(await db.patchesDdl(t));
    await db.exec(ddl.join("\n"));
    return db;
  }

  const dumpAll = async (db: WorldDb) => {
    const dumps: string[] = [];
    for (const t of MUSIC_STORE_TABLES) dumps.push(await db.dumpTable(t));
    return dumps.join("\n");
  };
  const adoptAll = async (r: WorldReplica, batchSize: number, progress: number[] = []) => {
    let adopted = 0;
    for (const t of MUSIC_STORE_TABLES) {
      const x = await r.adopt(t, { batchSize });
      adopted += x.adopted;
      progress.push(...x.progress);
    }
    return adopted;
  };

  describe("adopting an existing database", () => {
    it("a populated music store adopted on one peer: two empty peers catch up and hold identical tables", async () => {
      const a = await store(true);
      const written = await dumpAll(a);
      const expectedRows = musicStoreRows().reduce((n, t) => n + t.rows.length, 0);
      expect(expectedRows).toBeGreaterThan(2500);
      for (const needle of ["text:\"2021-01-01", "real:0.99", "real:1.99", "int:1152921504606846977", "blob:", "Zoë", "null"]) {
        expect(written.includes(needle), `the store holds ${needle}`).toBe(true);
      }

      const ra = await w.replica(a, { peerId: 1 });
      const progress: number[] = [];
      const adopted = await adoptAll(ra, 400, progress);
      expect(adopted).toBe(expectedRows);
      expect(progress.length).toBeGreaterThan(MUSIC_STORE_TABLES.length); // several batches for the large tables
      expect(await dumpAll(a)).toBe(written); // adoption writes patches, not different rows
      for (const t of MUSIC_STORE_TABLES) expect((await ra.adopt(t)).adopted, `a second adopt of ${t}`).toBe(0);

      // Two empty peers in a line A - B - C: C receives everything through B.
      const bDb = await store(false);
      const cDb = await store(false);
      // Foreign keys are enforced on the catching-up peers too: catch-up serves table by table,
      // so a child may arrive before its parent; it is parked until the parent is shown.
      for (const db of [bDb, cDb]) expect(await db.all("PRAGMA foreign_keys")).toEqual([{ foreign_keys: 1 }]);
      const rb = await w.replica(bDb, { peerId: 2 });
      const rc = await w.replica(cDb, { peerId: 3 });
      const queue: Queue = [];
      await link(queue, ra, rb);
      await link(queue, rb, rc);
      await settle([ra, rb, rc], queue, async () => (await heldOf(rb, 1)) === adopted && (await heldOf(rc, 1)) === adopted);

      expect(await dumpAll(bDb)).toBe(written);
      expect(await dumpAll(cDb)).toBe(written);
      for (const db of [a, bDb, cDb]) expect(await db.all("PRAGMA foreign_key_check")).toEqual([]);
      for (const r of [ra, rb, rc]) expect(await r.parked(), `rows still parked on peer ${r.peerId}`).toEqual([]);
      for (const t of MUSIC_STORE_TABLES) expect((await rc.adopt(t)).adopted, `nothing to adopt on a peer that received ${t}`).toBe(0);

      const compared = compareAcrossBindings("replic-music-store", w.name, `digest ${dumpDigest(written)}\n${written}`);
      // eslint-disable-next-line no-console
      console.log(`[conformance ${w.name}] music store ${dumpDigest(written)}; also checked against: ${compared.join(", ") || "(none yet)"}`);
    }, 120_000);

    it("concurrent multi-table transactions on two peers over a lossy network: three replicas hold what the merge rule says, nothing parked", async () => {
      // The music store as it is (its DDL, NOT NULL without DEFAULT, foreign keys enforced
      // everywhere), loaded on A in the application's order and adopted there; B and C start empty.
      const size: MusicStoreSize = { artists: 12, albumsPerArtist: 2, tracksPerAlbum: 5, customers: 12, invoices: 60 };
      const clock = new FakeClock(1_700_000_000_000);
      const aDb = await store(true, size);
      const bDb = await store(false);
      const cDb = await store(false);
      const ra = await w.replica(aDb, { peerId: 1, now: clock.now });
      const rb = await w.replica(bDb, { peerId: 2, now: clock.now });
      const rc = await w.replica(cDb, { peerId: 3, now: clock.now });
      const replicas = [ra, rb, rc];
      const adopted = await adoptAll(ra, 100);
      expect(adopted).toBe(musicStoreRows(19, size).reduce((n, t) => n + t.rows.length, 0));

      // Every patch any replica sends, decoded (dropped ones too: their writer wrote them): the
      // model of the merge rule is applied to these at the end.
      const sent = new Map<string, Patch>();
      const queue: Queue = [];
      for (const [x, y] of [[ra, rb], [rb, rc], [ra, rc]] as const) {
        for (const [from, to] of [[x, y], [y, x]] as const) {
          await from.addPeer(to.peerId, (m) => {
            const copy = new Uint8Array(m);
            for (const p of patchesOf(w.adapter.decodeMessage(copy)).patches) sent.set(patchKey(p), p);
            queue.push([to, from.peerId, copy]);
          });
        }
      }
      const rand = prng(23);
      let lossy = true;
      /** Why rows were parked between rounds: the scenario must exercise parking, not avoid it. */
      const parkedOnTheWay = new Set<string>();
      /** A second passes, every replica ticks; ~30% of the messages are lost, some arrive twice, in shuffled order. */
      const round = async () => {
        clock.t += 1000;
        for (const r of replicas) await r.tick();
        let batch = queue.splice(0);
        if (lossy) batch = shuffledWithDuplicates(rand, batch.filter(() => rand() >= 0.3), 0.1);
        for (const [to, from, m] of batch) await to.receive(from, m);
        for (const r of replicas) for (const x of await r.parked()) parkedOnTheWay.add(`${x.reason} ${x.table}.${x.detail}`);
      };
      const shows = async (db: WorldDb, table: string, where: string) => (await db.all(`SELECT 1 FROM ${table} WHERE ${where}`)).length > 0;
      const tx = (r: WorldReplica, writes: TxWrite[]) => r.transaction(writes);

      // B writes only on rows it shows (a local write whose parent is missing is refused), so it
      // first catches up with A's adopted rows, over the same lossy network.
      for (let n = 0; (await heldOf(rb, 1)) < adopted; n++) {
        if (n === 200) throw new Error("conformance: B did not catch up with A over the lossy network");
        await round();
      }

      const ROUNDS = 4;
      let playlisted = 0; // B's tracks A put in a playlist
      let crossLines = 0; // B's lines on A's invoices
      const TRACKS = size.artists * size.albumsPerArtist * size.tracksPerAlbum;
      for (let k = 0; k < ROUNDS; k++) {
        // A: a new invoice with its lines in one transaction; a late line and the new total in a
        // second one (a receiver may get it first: parked until the invoice is there); customer 1
        // and invoice 1 edited, rows B edits in the same round; B's newest track put in a playlist
        // once A shows it.
        const inv = 10_000 + k;
        await tx(ra, [
          { table: "invoice", row: { invoice_id: inv, customer_id: 1 + (k % size.customers), invoice_date: `2024-06-0${k + 1} 10:00:00`, billing_city: "Lisboa", billing_country: "Portugal", total: 1.98 } },
          ...[0, 1].map((j) => ({ table: "invoice_line", row: { invoice_line_id: 100_000 + k * 10 + j, invoice_id: inv, track_id: 1 + ((k * 7 + j) % TRACKS), unit_price: 0.99, quantity: 1 } })),
        ]);
        await tx(ra, [
          { table: "invoice_line", row: { invoice_line_id: 100_000 + k * 10 + 9, invoice_id: inv, track_id: 2 + k, unit_price: 0.99, quantity: 2 } },
          { table: "invoice", row: { invoice_id: inv, total: 3.96 } },
        ]);
        await tx(ra, [
          { table: "customer", row: { customer_id: 1, email: `a${k}@mail.example`, city: `A-city ${k}` } },
          { table: "invoice", row: { invoice_id: 1, total: 100 + k } },
        ]);
        if (k > 0 && (await shows(aDb, "track", `track_id = ${50_000 + (k - 1) * 10}`))) {
          await ra.upsert("playlist_track", { playlist_id: 2, track_id: 50_000 + (k - 1) * 10 });
          playlisted++;
        }

        clock.t += 5; // B's writes of this round come a little later, without having seen A's
        // B: a new artist with an album and its tracks; an invoice for two of them; the same
        // customer and invoice edited (the same column, later, and another column); a line added
        // to A's invoice of the previous round once B shows it.
        await tx(rb, [
          { table: "artist", row: { artist_id: 5_000 + k, name: `New artist ${k}` } },
          { table: "album", row: { album_id: 5_000 + k, title: `First album ${k}`, artist_id: 5_000 + k } },
          ...[0, 1, 2].map((j) => ({
            table: "track",
            row: { track_id: 50_000 + k * 10 + j, name: `Song ${k}.${j}`, album_id: 5_000 + k, media_type_id: 1, genre_id: 1 + j, composer: null, milliseconds: 200_000 + j, bytes: 4_000_000 + j, unit_price: 1.29 },
          })),
        ]);
        await tx(rb, [
          { table: "invoice", row: { invoice_id: 20_000 + k, customer_id: 2, invoice_date: `2024-06-0${k + 1} 11:00:00`, billing_city: null, billing_country: null, total: 2.58 } },
          ...[0, 1].map((j) => ({ table: "invoice_line", row: { invoice_line_id: 200_000 + k * 10 + j, invoice_id: 20_000 + k, track_id: 50_000 + k * 10 + j, unit_price: 1.29, quantity: 1 } })),
        ]);
        await tx(rb, [
          { table: "customer", row: { customer_id: 1, email: `b${k}@mail.example`, last_name: `B-name ${k}` } },
          { table: "invoice", row: { invoice_id: 1, total: 200 + k } },
        ]);
        if (k > 0 && (await shows(bDb, "invoice", `invoice_id = ${inv - 1}`))) {
          await rb.upsert("invoice_line", { invoice_line_id: 200_000 + k * 10 + 9, invoice_id: inv - 1, track_id: 50_000 + k * 10, unit_price: 1.29, quantity: 1 });
          crossLines++;
        }
        await round();
        await round();
      }

      // Heal: nothing lost any more; ticks repair the gaps until every replica holds all of A's and B's writes.
      lossy = false;
      const sequence = async (r: WorldReplica) => ((await r.status()) as { sequence: number }).sequence;
      const healed = async () => {
        const [sa, sb] = [await sequence(ra), await sequence(rb)];
        for (const r of replicas) if ((await heldOf(r, 1)) !== sa || (await heldOf(r, 2)) !== sb) return false;
        return true;
      };
      for (let n = 0; !(await healed()); n++) {
        if (n === 200) throw new Error("conformance: the network did not heal");
        await round();
      }
      await round(); // and the last messages in flight

      for (const t of MUSIC_STORE_TABLES) {
        const expected = modelDump(t, await aDb.columns(t), sent.values());
        for (const [name, db] of [["A", aDb], ["B", bDb], ["C", cDb]] as const) expect(await db.dumpTable(t), `${t} on ${name}`).toBe(expected);
      }
      // A late line, or a partial edit of a new invoice, reached a peer before the invoice itself.
      expect([...parkedOnTheWay].sort()).toEqual(expect.arrayContaining(["incomplete invoice.customer_id", "parent-missing invoice_line.invoice"]));
      for (const r of replicas) expect(await r.parked(), `rows still parked on peer ${r.peerId}`).toEqual([]);
      for (const db of [aDb, bDb, cDb]) expect(await db.all("PRAGMA foreign_key_check")).toEqual([]);
      // What the rule says, by hand for the rows both edited: the later write wins per column.
      const last = ROUNDS - 1;
      expect(await cDb.all("SELECT email, city, last_name FROM customer WHERE customer_id = 1")).toEqual([{ email: `b${last}@mail.example`, city: `A-city ${last}`, last_name: `B-name ${last}` }]);
      expect(await cDb.all("SELECT total FROM invoice WHERE invoice_id = 1")).toEqual([{ total: 200 + last }]);
      const count = async (sql: string) => Number((await cDb.all(`SELECT count(*) AS n FROM ${sql}`))[0]!.n);
      expect(playlisted, "A put some of B's new tracks in a playlist").toBeGreaterThan(0);
      expect(crossLines, "B added lines to some of A's new invoices").toBeGreaterThan(0);
      expect(await count("invoice")).toBe(size.invoices + 2 * ROUNDS);
      expect(await count("track")).toBe(TRACKS + 3 * ROUNDS);
      expect(await count("invoice_line WHERE invoice_id >= 10000")).toBe(3 * ROUNDS + 2 * ROUNDS + crossLines);
      expect(await count("playlist_track WHERE track_id >= 50000")).toBe(playlisted);
    }, 60_000);
  });

  describe("SQLite's own typing", () => {
    it("every storage class in NUMERIC, DATETIME, BOOLEAN, NVARCHAR and untyped columns round-trips byte-identically", async () => {
      const migrations = [{ up: `${TYPED};\nCREATE TABLE typed_patches (id INTEGER, n NUMERIC, price NUMERIC(10,2), dt DATETIME, flag BOOLEAN, u, name NVARCHAR(40), r REAL, i BIGINT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`, down: "DROP TABLE typed_patches; DROP TABLE typed;" }];
      const origin = await w.open(migrations, { peerId: 11 });
      const sent = await captureAsync(origin.r, SINK);
      const columns = ["n", "price", "dt", "flag", "u", "name", "r", "i"];
      const writes: (TxWrite & { col: string; v: SqlValue })[] = [];
      VALUES.forEach((v, k) => {
        for (const [c, col] of columns.entries()) writes.push({ table: "typed", row: { id: k * columns.length + c + 1, [col]: v }, col, v });
      });
      // All in one transaction, each write's refusal caught inside it.
      const outcomes = await origin.r.upsertEach(writes.map(({ table, row }) => ({ table, row })));
      let refused = 0;
      outcomes.forEach((o, i) => {
        if (!("refused" in o)) return;
        const { col, v } = writes[i]!;
        // Only a non-integer number in a TEXT column is refused (its text differs between SQLite versions).
        expect(col === "name" && typeof v === "number" && !Number.isSafeInteger(v), `${col} refused ${String(v)}`).toBe(true);
        refused++;
      });
      expect(refused).toBe(VALUES.filter((v) => typeof v === "number" && !Number.isSafeInteger(v)).length);
      const target = await w.open(migrations, { peerId: 12 });
      await target.r.addPeer(11, () => {});
      for (const m of sent) await target.r.receive(11, m);
      const dump = await origin.db.dumpTable("typed");
      expect(await target.db.dumpTable("typed")).toBe(dump);
      // Text dates stay text; a decimal text is a REAL; text that is not a number stays text.
      for (const needle of ['text:"2024-02-29 23:59:59"', "real:12.5", 'text:"12abc"', 'text:"0x10"', "int:42", "int:9223372036854775807", "int:-9223372036854775808", "blob:00ff07"]) {
        expect(dump.includes(needle), `dump holds ${needle}`).toBe(true);
      }
      const compared = compareAcrossBindings("replic-typing", w.name, dump);
      // eslint-disable-next-line no-console
      console.log(`[conformance ${w.name}] typing ${dumpDigest(dump)}; also checked against: ${compared.join(", ") || "(none yet)"}`);
    });
  });
}
