/**
 * Hostile input past the checksum: valid messages are mutated (bytes flipped, set, inserted,
 * deleted, repeated, truncated; varints, counts, flags, names and value types changed) and their
 * CRC-32 recomputed, so the parser and the schema validation run on every binding, not the
 * checksum. Each mutant must be refused with a typed error leaving every table (replic's own
 * included) exactly as before, or be a well-formed message that is applied exactly as decoded.
 * Seeded: REPLIC_HOSTILE_SEED replays a run, REPLIC_HOSTILE_RUNS sets how many mutants.
 */
import { afterEach, describe, expect, it } from "vitest";
import { fail } from "./fail.js";
import { ITEMS } from "./harness.js";
import type { ConformanceBinding, SqlValue } from "./types.js";
import { FakeClock, envInt, modelDump, patchesOf, patchKey, prng, randInt, SINK, type Patch } from "./util.js";
import { captureAsync as capture, syncWorld, type World, type WorldOpened } from "./world.js";

const RECEIVER = 1;

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

const INTERESTING = [0, 1, 2, 3, 5, 15, 16, 31, 32, 127, 128, 255, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];

/** One random byte-level mutation of a message body (CRC trailer excluded). */
function mutateBytes(rand: Rand, body: Uint8Array): { bytes: Uint8Array; what: string } {
  const b = Array.from(body);
  // Mostly past the 3-byte header, which has few interesting values.
  const i = rand() < 0.9 && b.length > 3 ? randInt(rand, 3, b.length - 1) : randInt(rand, 0, b.length - 1);
  const op = randInt(rand, 0, 7);
  let what: string;
  switch (op) {
    case 0: {
      const mask = rand() < 0.5 ? 1 << randInt(rand, 0, 7) : randInt(rand, 1, 255);
      b[i] = b[i]! ^ mask;
      what = `byte ${i} ^= 0x${mask.toString(16)}`;
      break;
    }
    case 1: {
      const v = pick(rand, [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0xff, randInt(rand, 0, 255)]);
      b[i] = v;
      what = `byte ${i} = 0x${v.toString(16)}`;
      break;
    }
    case 2: {
      const v = randInt(rand, 0, 255);
      b.splice(i, 0, v);
      what = `insert 0x${v.toString(16)} at ${i}`;
      break;
    }
    case 3:
      b.splice(i, 1);
      what = `delete byte ${i}`;
      break;
    case 4: {
      // Replace what may be a varint (1-3 bytes) with another value, in canonical form.
      const v = pick(rand, INTERESTING);
      const len = randInt(rand, 1, 3);
      b.splice(i, len, ...varint(v));
      what = `bytes ${i}..${i + len - 1} = varint ${v}`;
      break;
    }
    case 5: {
      const j = Math.min(b.length, i + randInt(rand, 1, 12));
      b.splice(j, 0, ...b.slice(i, j));
      what = `repeat bytes ${i}..${j - 1}`;
      break;
    }
    case 6:
      b.length = i;
      what = `truncate to ${i} bytes`;
      break;
    default: {
      const j = Math.min(b.length - 1, i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
      what = `swap bytes ${i} and ${j}`;
      break;
    }
  }
  return { bytes: Uint8Array.from(b), what };
}

const TABLE_NAMES = ["items_patches", "_replic_state", "_replic_peers", "sqlite_master", "ITEMS", "items ", "", `items"; DROP TABLE items; --`, "extras"];
const COLUMN_NAMES = ["_patchedAt", "_sequenceId", "_peerId", "_nulls", "rowid", "ID", `qty"`, "", "color", "deletedat"];
const STRANGE_VALUES: SqlValue[] = [
  null,
  0,
  -1,
  1.5,
  -0,
  Infinity,
  2 ** 53 - 1,
  2n ** 63n - 1n,
  -(2n ** 63n),
  "",
  "text",
  "\u0000",
  "ünï",
  new Uint8Array(0),
  new Uint8Array([1, 2, 3]),
];

interface WireLike {
  kind: string;
  tables?: { name: string; columns: string[] }[];
  patches?: { table: number; peerId: number; seq: number; patchedAt: number; columns: number[]; values: SqlValue[] }[];
  heads?: { peerId: number; contiguous: number; highest: number; retainedFrom: number }[];
  ranges?: { peerId: number; from: number; to: number }[];
}

/** One structural mutation through the codec: names, value types, key columns, ids, counts. */
function mutateStructure(rand: Rand, m: WireLike): { msg: WireLike; what: string } | undefined {
  const msg = structuredClone(m);
  if (msg.kind === "patches" && msg.patches!.length > 0) {
    const p = pick(rand, msg.patches!);
    const t = msg.tables![p.table]!;
    switch (randInt(rand, 0, 7)) {
      case 0: {
        const name = pick(rand, TABLE_NAMES);
        t.name = name;
        return { msg, what: `table renamed ${JSON.stringify(name)}` };
      }
      case 1: {
        const c = randInt(rand, 0, t.columns.length - 1);
        // Sometimes the name of another column of the same table: a duplicate.
        const name = rand() < 0.3 ? pick(rand, t.columns) : pick(rand, COLUMN_NAMES);
        if (t.columns[c] === name) return undefined;
        t.columns[c] = name;
        return { msg, what: `column ${c} renamed ${JSON.stringify(name)}` };
      }
      case 2: {
        const k = randInt(rand, 0, p.values.length - 1);
        const v = pick(rand, STRANGE_VALUES);
        p.values[k] = v;
        return { msg, what: `value ${k} of patch ${p.peerId}.${p.seq} = ${typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `blob(${v.length})` : JSON.stringify(v)}` };
      }
      case 3: {
        // Drop one column of a patch (the primary key among them).
        if (p.columns.length < 2) return undefined;
        const k = randInt(rand, 0, p.columns.length - 1);
        p.columns.splice(k, 1);
        p.values.splice(k, 1);
        return { msg, what: `patch ${p.peerId}.${p.seq} loses column ${k}` };
      }
      case 4: {
        const id = pick(rand, [0, RECEIVER, 2, 3, 0xffffffff]);
        const seq = pick(rand, [1, 2, 3, 1000, 2 ** 53 - 1]);
        p.peerId = id;
        p.seq = seq;
        return { msg, what: `patch becomes ${id}.${seq}` };
      }
      case 5: {
        p.patchedAt = pick(rand, [0, 1, p.patchedAt - 1, p.patchedAt + 1, 2 ** 53 - 1]);
        return { msg, what: `patchedAt = ${p.patchedAt}` };
      }
      case 6: {
        // Column indexes repeated or out of order (the values follow them).
        if (p.columns.length < 2) return undefined;
        const k = randInt(rand, 1, p.columns.length - 1);
        if (rand() < 0.5) p.columns[k] = p.columns[k - 1]!;
        else [p.columns[k], p.columns[k - 1]] = [p.columns[k - 1]!, p.columns[k]!];
        return { msg, what: `patch ${p.peerId}.${p.seq} column list ${JSON.stringify(p.columns)}` };
      }
      default: {
        // The same patch twice in one message, the second with other values.
        const copy = structuredClone(p);
        copy.values = copy.values.map((v, k) => (p.columns[k] === 0 ? v : pick(rand, STRANGE_VALUES)));
        msg.patches!.push(copy);
        return { msg, what: `patch ${p.peerId}.${p.seq} repeated with other values` };
      }
    }
  }
  if (msg.kind === "heartbeat" && msg.heads!.length > 0) {
    const h = pick(rand, msg.heads!);
    h.peerId = pick(rand, [RECEIVER, 0, 0xffffffff, h.peerId]);
    h.contiguous = pick(rand, [0, 1, 2 ** 40, h.contiguous]);
    h.highest = h.contiguous + pick(rand, [0, 1, 5]);
    h.retainedFrom = pick(rand, [0, 1, 2, 2 ** 40]);
    return { msg, what: `head ${JSON.stringify(h)}` };
  }
  if (msg.kind === "request" && msg.ranges!.length > 0) {
    const r = pick(rand, msg.ranges!);
    r.peerId = pick(rand, [RECEIVER, 0, 2, 0xffffffff]);
    r.from = pick(rand, [1, 2, 3, 2 ** 40]);
    r.to = r.from + pick(rand, [0, 1, 1000, 2 ** 30]);
    return { msg, what: `range ${JSON.stringify(r)}` };
  }
  return undefined;
}

export function hostileSuite<Db>(b: ConformanceBinding<Db>): void {
  hostileBlock(syncWorld(b));
}

/** Hostile input past the checksum, on any world. */
export function hostileBlock(w: World): void {
  const b = { adapter: w.adapter, name: w.name };
  afterEach(() => w.closeAll());
  const runs = envInt("REPLIC_HOSTILE_RUNS", 1000);
  // A fixed clock: the seed messages, and so every mutant of a seed, are the same bytes each run.
  const clock = new FakeClock(1_700_000_000_000);
  const seed = envInt("REPLIC_HOSTILE_SEED", Math.floor(Math.random() * 2 ** 31));

  const withCrc = (body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(body.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(body.length, b.adapter.crc32(body), true);
    return out;
  };

  /** A receiver with rows of its own, linked to peers 2 and 3 (so heartbeats and requests count). */
  async function receiver(): Promise<{ o: WorldOpened; own: Patch[] }> {
    // A drift bound beyond any stamp a mutant can carry: holding far-future patches has its own
    // tests (hostile-neighbours.ts); here every well-formed patch of another origin merges.
    const o = await w.open(ITEMS, { peerId: RECEIVER, now: clock.now, maxClockDriftMs: Number.MAX_SAFE_INTEGER });
    const sent = await capture(o.r, SINK);
    await o.r.addPeer(2, () => {});
    await o.r.addPeer(3, () => {});
    await o.r.upsert("items", { id: 1, qty: 10, name: "mine" });
    await o.r.upsert("items", { id: 5, price: 0.25, data: new Uint8Array([5]), deletedAt: null });
    return { o, own: sent.flatMap((m) => patchesOf(b.adapter.decodeMessage(m)).patches) };
  }

  /** Seed messages: patches with every storage class and explicit NULLs, a run, a heartbeat, a request. */
  async function seedMessages(): Promise<Uint8Array[]> {
    const s2 = await w.open(ITEMS, { peerId: 2, now: clock.now });
    const out2 = await capture(s2.r, SINK);
    await s2.r.transaction([
      { table: "items", row: { id: 1, qty: 2n ** 62n, price: -1.5, name: "from 2", data: new Uint8Array([1, 2, 3]) } },
      { table: "items", row: { id: 2, name: "ünïcödé", deletedAt: null } },
      { table: "items", row: { id: 3, qty: -7, deletedAt: 1234 } },
    ]);
    await s2.r.tick();
    const s3 = await w.open(ITEMS, { peerId: 3, now: clock.now });
    const out3 = await capture(s3.r, SINK);
    await s3.r.upsertMany(
      "items",
      [1, 2, 3, 4].map((id) => ({ id, qty: id * 100, name: `run ${id}` })),
    );
    const request = b.adapter.encodeWire({ kind: "request", ranges: [{ peerId: RECEIVER, from: 1, to: 2 }, { peerId: 2, from: 1, to: 3 }] });
    return [...out2, ...out3, request];
  }

  describe("hostile input past the checksum (mutated messages, CRC-32 recomputed)", () => {
    it(`${runs} mutants: typed error and every table unchanged, or applied exactly as decoded (seed ${seed})`, async () => {
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] hostile input: REPLIC_HOSTILE_SEED=${seed} REPLIC_HOSTILE_RUNS=${runs}`);
      const rand = prng(seed);
      const seeds = await seedMessages();
      const kinds = new Set(seeds.map((m) => m[2]));
      expect([...kinds].sort(), "seed messages cover patches, heartbeat and request").toEqual([1, 2, 3]);
      let state = await receiver();
      const stats = { decode: 0, validation: 0, accepted: 0, structural: 0 };
      for (let run = 0; run < runs; run++) {
        if (run % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 0)); // let the runner breathe
        const original = pick(rand, seeds);
        let bytes: Uint8Array;
        let what: string;
        const structural = rand() < 0.35 ? mutateStructure(rand, b.adapter.decodeWire(original) as WireLike) : undefined;
        if (structural) {
          bytes = b.adapter.encodeWire(structural.msg);
          what = structural.what;
          stats.structural++;
        } else {
          const body = original.subarray(0, original.length - 4);
          const m = mutateBytes(rand, body);
          // A second mutation now and then, so that combinations occur too.
          const m2 = rand() < 0.25 ? mutateBytes(rand, m.bytes) : undefined;
          bytes = withCrc(m2 ? m2.bytes : m.bytes);
          what = m2 ? `${m.what}, then ${m2.what}` : m.what;
        }
        const label = `[${b.name} seed ${seed} mutant ${run}: ${what}; hex ${Buffer.from(bytes).toString("hex")}]`;
        const outcome = await check(state, bytes, label);
        stats[outcome]++;
        if (outcome === "accepted") state = await receiver();
      }
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] hostile input: ${JSON.stringify(stats)}`);
      // The mutants reached every stage: the parser, the schema validation, and the merge.
      expect(stats.decode, "mutants refused by the parser").toBeGreaterThan(runs / 10);
      // (A plain table stores every storage class, as SQLite does: fewer value mutations are refused than type checks once refused.)
      expect(stats.validation, "mutants refused by the schema validation").toBeGreaterThan(runs / 100);
      expect(stats.accepted, "mutants that were well-formed and applied").toBeGreaterThan(0);
      // Still usable: the original messages apply afterwards.
      for (const m of seeds) await state.o.r.receive(2, m);
      expect((await state.o.db.all("SELECT count(*) AS n FROM items"))[0]!.n).toBe(5);
    }, 240_000);
  });

  /**
   * Feeds one mutant. Refused: a DecodeError or ValidationError (a ReplicError) and every table
   * exactly as before. Accepted: it decodes, and `items` equals the model of the receiver's own
   * patches plus the decoded ones it did not hold (first of a repeated (peer, seq) wins); a
   * patch under the receiver's own peer id is never merged (it did not write it).
   */
  async function check(state: { o: WorldOpened; own: Patch[] }, bytes: Uint8Array, label: string): Promise<"decode" | "validation" | "accepted"> {
    const { o, own } = state;
    const { error, before, after } = await w.receiveDumped(o, 2, bytes);
    const changed = () => [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
    if (error !== undefined) {
      const e = error;
      const typed = e instanceof b.adapter.DecodeError || e instanceof b.adapter.ValidationError;
      if (!typed || !(e instanceof b.adapter.ReplicError)) {
        fail(`${label} receive threw an untyped error: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
      }
      const diff = changed();
      if (diff.length > 0) fail(`${label} refused (${(e as Error).message}) but changed ${diff.join(", ")}`);
      return e instanceof b.adapter.DecodeError ? "decode" : "validation";
    }
    let decoded: unknown;
    try {
      decoded = b.adapter.decodeMessage(bytes);
    } catch (e) {
      fail(`${label} receive accepted bytes that decodeMessage refuses: ${String(e)}`);
    }
    const known = new Set(own.map(patchKey));
    // A patch of a group shows only with its whole group: here, only when the message holds it all
    // (the receiver starts from its own patches alone); the other parts wait, nothing of them shows.
    const all = patchesOf(decoded).patches;
    const groups = (decoded as { groups?: { peerId: number; first: number; last: number }[] }).groups ?? [];
    const inMessage = new Set(all.map((p) => `${p.peerId}:${p.seq}`));
    const whole = (p: Patch) => {
      const g = groups.find((x) => x.peerId === p.peerId && p.seq >= x.first && p.seq <= x.last);
      if (!g) return true;
      for (let s = g.first; s <= g.last; s++) if (!inMessage.has(`${g.peerId}:${s}`)) return false;
      return true;
    };
    const incoming: Patch[] = [];
    let waiting = 0;
    for (const p of all) {
      if (p.peerId === RECEIVER || known.has(patchKey(p))) continue;
      known.add(patchKey(p));
      if (whole(p)) incoming.push(p);
      else waiting++;
    }
    const cols = await o.db.columns("items");
    expect(await o.db.dumpTable("items"), `${label} accepted: items equals the model`).toBe(modelDump("items", cols, [...own, ...incoming]));
    const bookkeeping = ["_replic_peers", "_replic_state", ...(waiting > 0 ? ["_replic_incomplete"] : [])];
    if (incoming.length === 0) expect(changed().filter((t) => !bookkeeping.includes(t)), `${label} no new patch, no new rows`).toEqual([]);
    return "accepted";
  }
}
