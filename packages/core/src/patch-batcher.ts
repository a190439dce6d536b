/**
 * Cuts a stream of patches into messages of at most `maxPatches` patches and at most `maxBytes`
 * bytes each (4 MiB, or the message limit if lower), encoding as it goes (nothing is kept per
 * patch). A message is cut before a patch that could push it past the limit, so receivers with
 * the same `limits.maxMessageBytes` accept every message of more than one patch; a single patch
 * larger than the limit still goes alone (local writes refuse those up front: PATCH_TOO_LARGE).
 * A patch may belong to a group (the patches of one transaction); every message that carries a
 * part of a group names the whole group, so a receiver knows what it still lacks. Messages are
 * serialized at finish(), when a local transaction's last sequence is known.
 */
import { indexes, type AlienPatch } from "./alien-patch.js";
import type { SqlValue } from "./driver.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { encodedSizeBound } from "./row-validator.js";
import { PatchesEncoder } from "./wire/encoder.js";
import { WIRE_VERSION_2, type WireGroup } from "./wire/types.js";

/** Bytes a group adds to a message at most: peer id, first sequence, span. */
const GROUP_BYTES = 24;

/** Upper bound of the patch bytes one outgoing message carries, roughly. */
export const MAX_MESSAGE_PAYLOAD = 4 * 1024 * 1024;

export class PatchBatcher {
  private encoder: PatchesEncoder | undefined;
  private readonly tableIndex = new Map<ReplicatedTable, number>();
  /** Alien patches' tables, by name and column list (they are rare: a string key is fine). */
  private readonly rawIndex = new Map<string, number>();
  /** Groups of the open message, in the order first met. */
  private groups: WireGroup[] = [];
  private readonly cutMessages: { encoder: PatchesEncoder; groups: WireGroup[] }[] = [];
  /** Bytes of the messages cut so far. */
  bytes = 0;

  private readonly maxBytes: number;

  constructor(
    private readonly maxPatches: number,
    maxBytes: number = MAX_MESSAGE_PAYLOAD,
  ) {
    this.maxBytes = Math.min(maxBytes, MAX_MESSAGE_PAYLOAD);
  }

  /** Cuts the open message first when this patch (and its table, if new) might not fit in it. */
  private makeRoom(tableName: string, columns: readonly string[], newTable: boolean, cols: number, values: readonly SqlValue[]): void {
    const e = this.encoder;
    if (!e || e.count === 0) return;
    // flags, table, peer, sequence, timestamp delta, column count: at most 1+5+5+8+8+5 bytes
    let bound = 32 + GROUP_BYTES + 5 * cols + encodedSizeBound(values);
    if (newTable) bound += 5 + tableName.length * 3 + columns.reduce((n, c) => n + 5 + c.length * 3, 0);
    if (e.bytesBound + this.groups.length * GROUP_BYTES + bound > this.maxBytes) this.cut();
  }

  /** Names `group` in the open message (once). */
  private inGroup(group: WireGroup | undefined): void {
    if (group === undefined) return;
    const g = this.groups;
    if (g.length > 0 && g[g.length - 1] === group) return;
    if (!g.includes(group)) g.push(group);
  }

  add(table: ReplicatedTable, peerId: number, seq: number, patchedAt: number, cols: number[], values: readonly SqlValue[], group?: WireGroup): void {
    this.makeRoom(table.name, table.columnNames, !this.tableIndex.has(table), cols.length, values);
    const e = this.open();
    this.inGroup(group);
    let ti = this.tableIndex.get(table);
    if (ti === undefined) {
      ti = e.addTable(table.name, table.columnNames);
      this.tableIndex.set(table, ti);
    }
    e.add(ti, peerId, seq, patchedAt, cols, values);
    this.cutIfFull(e);
  }

  /** Adds an alien patch as it was received: its own table name and column names. */
  addAlien(a: AlienPatch, group?: WireGroup): void {
    const key = a.table + "\u001f" + a.columns.join("\u001f");
    this.makeRoom(a.table, a.columns, !this.rawIndex.has(key), a.columns.length, a.values);
    const e = this.open();
    this.inGroup(group);
    let ti = this.rawIndex.get(key);
    if (ti === undefined) {
      ti = e.addTable(a.table, a.columns);
      this.rawIndex.set(key, ti);
    }
    e.add(ti, a.peerId, a.seq, a.patchedAt, indexes(a.columns.length), a.values);
    this.cutIfFull(e);
  }

  /** The open message's encoder, a new one (and no tables declared) after a cut. */
  private open(): PatchesEncoder {
    if (this.encoder) return this.encoder;
    this.tableIndex.clear();
    this.rawIndex.clear();
    return (this.encoder = new PatchesEncoder());
  }

  private cutIfFull(e: PatchesEncoder): void {
    if (e.count >= this.maxPatches || e.bytesBound >= this.maxBytes) this.cut();
  }

  private cut(): void {
    if (this.encoder && this.encoder.count > 0) this.cutMessages.push({ encoder: this.encoder, groups: this.groups });
    this.encoder = undefined;
    this.groups = [];
  }

  /**
   * The messages, the last one cut; the batcher is empty afterwards. `version` 1 leaves the
   * groups out (a neighbour on a build before group patches); a group of one patch is no group.
   */
  finish(version: number = WIRE_VERSION_2): Uint8Array[] {
    const out = this.messagesFor(version);
    this.cutMessages.length = 0;
    return out;
  }

  /** The messages for neighbours reading `version`, leaving them in place (one batch, several versions). */
  messagesFor(version: number): Uint8Array[] {
    this.cut();
    const out: Uint8Array[] = new Array(this.cutMessages.length);
    for (let i = 0; i < out.length; i++) {
      const { encoder, groups } = this.cutMessages[i]!;
      const real = version >= WIRE_VERSION_2 ? wireGroups(groups) : undefined;
      const m = encoder.finish(real);
      this.bytes += m.length;
      out[i] = m;
    }
    return out;
  }
}

/** Groups of two or more patches, once each, in the order the decoder wants: by origin, then sequence. */
function wireGroups(groups: readonly WireGroup[]): WireGroup[] {
  const out: WireGroup[] = [];
  const seen = new Set<string>();
  for (const g of groups) {
    if (g.last <= g.first) continue;
    const key = `${g.peerId}:${g.first}:${g.last}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(g);
  }
  return out.sort((a, b) => a.peerId - b.peerId || a.first - b.first);
}
