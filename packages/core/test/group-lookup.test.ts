// Finding a patch's group (the decoder's stamp check, src/wire/decoder.ts, which points each
// patch at its group; the mapping, src/wire-mapping.ts, carries it on): the decoder looks a group
// up once for a run of its patches and must still give every patch its own group, with two
// groups of one origin, another origin's, and patches in none between them. Outside test/rooms: the mutation run's room tests cover these files already.
import { describe, expect, it } from "vitest";
import { Catalog } from "../src/catalog.js";
import { mapPatches } from "../src/wire-mapping.js";
import { decodeWire } from "../src/wire/decoder.js";
import { encodeWire } from "../src/wire/encoder.js";
import type { WirePatch, WireTable } from "../src/wire/types.js";
import { testDriver } from "./helpers.js";
import { ITEMS_DDL } from "./sim.js";

function catalog(): Catalog {
  const d = testDriver();
  d.exec(ITEMS_DDL);
  return new Catalog(d);
}

describe("decoder: a group's stamp", () => {
  const tables = [{ name: "t", columns: ["id"] }];
  const patch = (peerId: number, seq: number, patchedAt = 5) => ({ table: 0, peerId, seq, patchedAt, columns: [0], values: [seq] });

  it("checks each group's stamp against its own parts: two groups of one origin with their own stamps, patches in none between them", () => {
    const gs = [
      { peerId: 1, first: 2, last: 3 },
      { peerId: 1, first: 5, last: 6 },
      { peerId: 2, first: 1, last: 2 },
    ];
    const ok = { kind: "patches" as const, tables, patches: [patch(1, 2, 7), patch(1, 3, 7), patch(1, 4, 8), patch(2, 1, 9), patch(1, 5, 8), patch(2, 2, 9), patch(1, 6, 8)], groups: gs };
    const back = decodeWire(encodeWire(ok, 2));
    expect(back.kind === "patches" && back.groups).toEqual(gs);
    const refused = (patches: ReturnType<typeof patch>[]) => () => decodeWire(encodeWire({ ...ok, patches }, 2));
    // The second group's last part with the first group's stamp; a part of one origin's group
    // stamped as the other origin's group just before it; the first group's second part off by one.
    expect(refused([patch(1, 2, 7), patch(1, 3, 7), patch(1, 5, 8), patch(1, 6, 7), patch(2, 1, 9), patch(2, 2, 9)])).toThrow(/patches of group 1\.5-6 carry different stamps/);
    expect(refused([patch(1, 2, 7), patch(2, 1, 7), patch(1, 3, 7), patch(2, 2, 9), patch(1, 5, 8), patch(1, 6, 8)])).toThrow(/patches of group 2\.1-2 carry different stamps/);
    expect(refused([patch(1, 2, 7), patch(1, 3, 8), patch(1, 5, 8), patch(1, 6, 8), patch(2, 1, 9), patch(2, 2, 9)])).toThrow(/patches of group 1\.2-3 carry different stamps/);
  });

});

describe("mapPatches: a patch's group", () => {
  it("points each patch at its own group: two groups of one origin, another origin's, patches in none between them", () => {
    const c = catalog();
    const tables: WireTable[] = [{ name: "items", columns: ["id"] }];
    const wp = (peerId: number, seq: number): WirePatch => ({ table: 0, peerId, seq, patchedAt: 500, columns: [0], values: [seq] });
    const groups = [
      { peerId: 9, first: 1, last: 2 },
      { peerId: 9, first: 4, last: 5 },
      { peerId: 8, first: 1, last: 2 },
    ];
    const patches = [wp(9, 1), wp(9, 2), wp(8, 3), wp(9, 3), wp(8, 1), wp(9, 4), wp(8, 2), wp(9, 5), wp(9, 6), wp(7, 4)];
    const decoded = decodeWire(encodeWire({ kind: "patches", tables, patches, groups }, 2));
    if (decoded.kind !== "patches") throw new Error("not a patches message");
    const m = mapPatches(c, decoded);
    expect(m.patches.map((p) => `${p.peerId}.${p.seq}:${p.group ? `${p.group.peerId}.${p.group.first}-${p.group.last}` : "-"}`)).toEqual([
      "9.1:9.1-2",
      "9.2:9.1-2",
      "8.3:-",
      "9.3:-",
      "8.1:8.1-2",
      "9.4:9.4-5",
      "8.2:8.1-2",
      "9.5:9.4-5",
      "9.6:-",
      "7.4:-",
    ]);
    // The decoded message's own group objects, one per group.
    expect(m.patches[0]!.group).toBe(decoded.groups![0]);
    expect(m.patches[1]!.group).toBe(decoded.groups![0]);
    expect(m.patches[7]!.group).toBe(decoded.groups![1]);
    // Without a group section no patch has a group.
    const plain = mapPatches(c, { kind: "patches", tables, patches });
    expect(plain.patches.every((p) => p.group === undefined)).toBe(true);
  });

});
