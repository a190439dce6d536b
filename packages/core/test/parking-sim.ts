// The simulator of parking, shared by every binding's tests: replicas write concurrently to a
// schema with NOT NULL without DEFAULT, foreign keys (one of them from authors to authors, so
// rows may reference each other in a cycle), a UNIQUE column and CHECKs (writes their
// own replica refuses fail and are dropped, as an application would see them), over a network
// that loses, duplicates and reorders, with crash-restarts. After every receive() the foreign
// keys hold (PRAGMA foreign_key_check is empty); after every receive, every restart and at the
// end, `T` and the parked rows are exactly what a plain model of the rule derives from the
// replica's patches;
// after healing, all replicas hold the same rows and the same parked rows.
import { join } from "node:path";
import { CrashingDriver, rng, SimCrash, type SimBinding, type SimDriver } from "./sim.js";

const patchesOf = (t: string, cols: string) => `CREATE TABLE ${t}_patches (${cols},
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;`;

export const PARKING_DDL = `
CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, score INTEGER CHECK (score >= 0), mentorId TEXT REFERENCES authors(id));
${patchesOf("authors", "id TEXT, name TEXT, email TEXT, score INTEGER, mentorId TEXT")}
CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT NOT NULL, authorId TEXT REFERENCES authors(id), pages INTEGER CHECK (pages > 0));
${patchesOf("books", "id TEXT, title TEXT, authorId TEXT, pages INTEGER")}`;
export const PARKING_MIGRATIONS = [{ up: PARKING_DDL, down: "DROP TABLE books_patches; DROP TABLE books; DROP TABLE authors_patches; DROP TABLE authors;" }];

type V = string | number | null;
type Stamp = [number, number, number];
const COLS = { authors: ["id", "name", "email", "score", "mentorId"], books: ["id", "title", "authorId", "pages"] } as const;

/**
 * The rule, as plainly as it can be said, from a replica's patches: per key the merged row; a row
 * is incomplete without a title/name, fails its CHECK, loses its email to the valid row that
 * claimed it earliest, or waits for its author (or mentor); the rest is shown. Authors whose
 * mentors form a cycle are shown together: of the authors left, those whose mentor is not among
 * them are dropped until none is (the largest set in which every mentor is shown).
 */
export function modelOf(driver: SimDriver): { authors: V[][]; books: V[][]; parked: string[][] } {
  const merged = (t: "authors" | "books") => {
    const cols = COLS[t];
    const rows = driver
      .prepare(`SELECT ${cols.join(", ")}, _nulls, _patchedAt, _peerId, _sequenceId FROM ${t}_patches ORDER BY _patchedAt, _peerId, _sequenceId`)
      .all([]) as V[][];
    const out = new Map<string, { v: V[]; at: Stamp[] }>();
    for (const r of rows) {
      const id = String(r[0]);
      const w = cols.length; // then _nulls and the stamp
      const stamp: Stamp = [Number(r[w + 1]), Number(r[w + 2]), Number(r[w + 3])];
      let m = out.get(id);
      if (!m) out.set(id, (m = { v: cols.map(() => null), at: cols.map(() => stamp) }));
      const nulls = r[w] === null ? [] : String(r[w]).split("\u001f");
      cols.forEach((c, i) => {
        if (r[i] !== null || nulls.includes(c)) {
          m.v[i] = r[i] === null ? null : r[i]!;
          m.at[i] = stamp;
        }
      });
    }
    return out;
  };
  const before = (a: Stamp, ak: string, b: Stamp, bk: string) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || (ak < bk ? -1 : 1);
  const parked: string[][] = [];
  const authors = merged("authors");
  const valid = new Map<string, V[]>();
  const claims = new Map<string, { id: string; at: Stamp }>();
  for (const [id, a] of authors) {
    if (a.v[1] === null) parked.push(["authors", id, "incomplete", "name"]);
    else if (a.v[3] !== null && Number(a.v[3]) < 0) parked.push(["authors", id, "check", "score >= 0"]);
    else {
      valid.set(id, a.v);
      const e = a.v[2];
      if (e === null) continue;
      const c = claims.get(String(e));
      if (!c || before(a.at[2]!, id, c.at, c.id) < 0) claims.set(String(e), { id, at: a.at[2]! });
    }
  }
  const mentored = new Map<string, V[]>();
  for (const [id, v] of valid) {
    if (v[2] !== null && claims.get(String(v[2]))!.id !== id) parked.push(["authors", id, "unique", "authors.email"]);
    else mentored.set(id, v);
  }
  for (let dropped = true; dropped; ) {
    dropped = false;
    for (const [id, v] of mentored) {
      if (v[4] === null || mentored.has(String(v[4]))) continue;
      mentored.delete(id);
      parked.push(["authors", id, "parent-missing", "authors"]);
      dropped = true;
    }
  }
  const shownAuthors = [...mentored.values()];
  const shownIds = new Set(mentored.keys());
  const shownBooks: V[][] = [];
  for (const [id, b] of merged("books")) {
    if (b.v[1] === null) parked.push(["books", id, "incomplete", "title"]);
    else if (b.v[3] !== null && Number(b.v[3]) <= 0) parked.push(["books", id, "check", "pages > 0"]);
    else if (b.v[2] !== null && !shownIds.has(String(b.v[2]))) parked.push(["books", id, "parent-missing", "authors"]);
    else shownBooks.push(b.v);
  }
  const byId = (a: V[], b: V[]) => (String(a[0]) < String(b[0]) ? -1 : 1);
  parked.sort((a, b) => (a.join("\u0000") < b.join("\u0000") ? -1 : 1));
  return { authors: shownAuthors.sort(byId), books: shownBooks.sort(byId), parked };
}

/** What the replica shows and parks, in the model's shape. */
export function actualOf(driver: SimDriver): { authors: V[][]; books: V[][]; parked: string[][] } {
  const rows = (sql: string) => driver.prepare(sql).all([]) as V[][];
  const parked = rows(`SELECT tbl, "key", reason, detail FROM _replic_parked`).map((r) => [String(r[0]), String(JSON.parse(String(r[1]))[0]), String(r[2]), String(r[3])]);
  parked.sort((a, b) => (a.join("\u0000") < b.join("\u0000") ? -1 : 1));
  return { authors: rows("SELECT id, name, email, score, mentorId FROM authors ORDER BY id"), books: rows("SELECT id, title, authorId, pages FROM books ORDER BY id"), parked };
}

export interface ParkingSimResult {
  writes: number;
  refused: number;
  receives: number;
  restarts: number;
  /** Rows parked at some check during the run (the rule was exercised). */
  parkedSeen: number;
  /** Authors shown on a receiving replica in a cycle of two or more mentors, at some check. */
  cyclesSeen: number;
}

/** Authors whose chain of mentors leads back to them through another author. */
const IN_CYCLES = `WITH RECURSIVE up(start, id, n) AS (
  SELECT id, mentorId, 1 FROM authors WHERE mentorId IS NOT NULL AND mentorId <> id
  UNION ALL SELECT up.start, a.mentorId, n + 1 FROM up JOIN authors a ON a.id = up.id WHERE a.mentorId IS NOT NULL AND n < 5)
  SELECT count(DISTINCT start) FROM up WHERE id = start`;

export function simulateParking(binding: SimBinding, seed: number, steps = 300): ParkingSimResult {
  const r = rng(seed);
  const n = 3;
  const dir = binding.tempDir();
  const wall = { t: 1_800_000_000_000 };
  const loss = 0.1 + r.next() * 0.2;
  const queue: Array<{ from: number; to: number; bytes: Uint8Array }> = [];
  type Peer = { handle: { driver: SimDriver; close(): void }; driver: CrashingDriver; replica: ReturnType<SimBinding["createReplica"]> };
  const peers: Peer[] = [];
  const result: ParkingSimResult = { writes: 0, refused: 0, receives: 0, restarts: 0, parkedSeen: 0, cyclesSeen: 0 };
  const fail = (msg: string) => {
    throw new Error(`seed ${seed}: ${msg}`);
  };
  const divergences: string[] = [];
  const agrees = (i: number, when: string) => {
    const d = peers[i]!.handle.driver;
    const model = JSON.stringify(modelOf(d));
    const actual = JSON.stringify(actualOf(d));
    if (model !== actual) fail(`replica ${i + 1} disagrees with the model ${when}\nmodel  ${model}\nactual ${actual}`);
  };
  const fkHold = (i: number, when: string) => {
    result.cyclesSeen = Math.max(result.cyclesSeen, Number(peers[i]!.handle.driver.prepare(IN_CYCLES).get([])![0]));
    const d = peers[i]!.handle.driver;
    if (d.prepare("PRAGMA foreign_key_check").all([]).length > 0) fail(`replica ${i + 1}: foreign_key_check not empty ${when}`);
    const both = d.prepare(`SELECT count(*) FROM _replic_parked p JOIN books b ON p.tbl = 'books' AND p."key" = json_array(b.id)`).get([])!;
    if (Number(both[0]) > 0) fail(`replica ${i + 1}: a parked row is shown ${when}`);
    result.parkedSeen = Math.max(result.parkedSeen, Number(d.prepare(`SELECT count(*) FROM _replic_parked`).get([])![0]));
  };
  const open = (i: number): Peer => {
    const handle = binding.open(join(dir.path, `p${i}.db`));
    handle.driver.exec("PRAGMA foreign_keys = ON");
    const driver = new CrashingDriver(handle.driver);
    const replica = binding.createReplica(driver, { peerId: i + 1, heartbeatMs: 0, now: () => wall.t + i * 2, requestTimeoutMs: 50, retentionMs: 0 });
    replica.migrate(PARKING_MIGRATIONS);
    for (let j = 0; j < n; j++) if (j !== i) replica.addPeer(j + 1, (bytes) => void queue.push({ from: i, to: j, bytes }));
    // Rows parked and released all along: the scrub of each round must never find one shown against the rule.
    replica.on("divergence", (e) => divergences.push(`replica ${i + 1}: the scrub found ${e.kind} rows of ${e.table}: ${JSON.stringify(e.keys)}`));
    return { handle, driver, replica };
  };
  const restart = (i: number) => {
    const p = peers[i]!;
    p.driver.dead = true;
    p.handle.close();
    for (let k = queue.length - 1; k >= 0; k--) if (queue[k]!.to === i) queue.splice(k, 1);
    peers[i] = open(i);
    result.restarts++;
    agrees(i, "after a restart");
    fkHold(i, "after a restart");
  };
  const guarded = (i: number, fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "CONSTRAINT" && !peers[i]!.driver.dead) {
        result.refused++;
        return false;
      }
      if (!(err instanceof SimCrash) && !peers[i]!.driver.dead) throw err;
      restart(i);
      return false;
    }
  };
  const maybe = <T>(v: () => T): T | undefined => (r.chance(0.5) ? v() : undefined);
  const writeOne = (p: Peer) => {
    const row: Record<string, V> = {};
    if (r.chance(0.5)) {
      row.id = `a${r.int(5)}`;
      const name = maybe(() => `n${r.int(3)}`);
      if (name !== undefined) row.name = name;
      const email = maybe(() => (r.chance(0.2) ? null : `e${r.int(3)}`));
      if (email !== undefined) row.email = email;
      const score = maybe(() => (r.chance(0.2) ? null : r.int(4) - 1));
      if (score !== undefined) row.score = score;
      const mentor = maybe(() => (r.chance(0.3) ? null : `a${r.int(5)}`));
      if (mentor !== undefined) row.mentorId = mentor;
      p.replica.upsert("authors", row);
    } else {
      row.id = `b${r.int(5)}`;
      const title = maybe(() => `t${r.int(3)}`);
      if (title !== undefined) row.title = title;
      const author = maybe(() => (r.chance(0.2) ? null : `a${r.int(5)}`));
      if (author !== undefined) row.authorId = author;
      const pages = maybe(() => (r.chance(0.2) ? null : r.int(4) - 1));
      if (pages !== undefined) row.pages = pages;
      p.replica.upsert("books", row);
    }
  };

  try {
    for (let i = 0; i < n; i++) peers.push(open(i));
    for (let step = 0; step < steps; step++) {
      wall.t += r.int(3);
      const i = r.int(n);
      const p = peers[i]!;
      const roll = r.next();
      if (roll < 0.03) p.driver.crashIn = 1 + r.int(40);
      if (roll < 0.4) {
        const two = r.chance(0.25);
        if (guarded(i, () => p.replica.transaction(() => (writeOne(p), two && writeOne(p))))) result.writes++;
      } else if (roll < 0.9 && queue.length > 0) {
        const m = queue.splice(r.int(queue.length), 1)[0]!;
        if (r.chance(0.1)) queue.push(m);
        if (r.chance(loss)) continue;
        if (guarded(m.to, () => peers[m.to]!.replica.receive(m.from + 1, m.bytes))) {
          result.receives++;
          fkHold(m.to, "after a receive");
          agrees(m.to, "after a receive");
        }
      } else if (roll < 0.98) {
        guarded(i, () => p.replica.tick());
      } else restart(i);
      p.driver.crashIn = 0;
    }
    for (let round = 0; round < 200; round++) {
      wall.t += 100;
      for (const p of peers) p.replica.tick();
      while (queue.length > 0) {
        const m = queue.shift()!;
        peers[m.to]!.replica.receive(m.from + 1, m.bytes);
        result.receives++;
        fkHold(m.to, "while healing");
      }
      const missing = peers.some((p) => p.replica.status().origins.some((o) => o.missing > 0));
      const dumps = peers.map((p) => JSON.stringify(actualOf(p.handle.driver)));
      if (!missing && dumps.every((d) => d === dumps[0])) break;
    }
    const dumps = peers.map((p) => JSON.stringify(actualOf(p.handle.driver)));
    for (let i = 0; i < n; i++) {
      if (dumps[i] !== dumps[0]) fail(`replica ${i + 1} differs from replica 1 after healing\n${dumps[i]}\n${dumps[0]}`);
      agrees(i, "after healing");
    }
    if (divergences.length > 0) fail(divergences.join("\n"));
    return result;
  } finally {
    for (const p of peers) {
      try {
        p.handle.close();
      } catch {
        /* closed by a crash already */
      }
    }
    dir.remove();
  }
}
