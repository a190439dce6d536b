/**
 * Cuts a stream of patches into messages of at most `maxPatches` patches and at most `maxBytes`
 * bytes each (4 MiB, or the message limit if lower), encoding as it goes (nothing is kept per
 * patch). A message is cut before a patch that could push it past the limit, so receivers with
 * the same `limits.maxMessageBytes` accept every message of more than one patch; a single patch
 * larger than the limit still goes alone (local writes refuse those up front: PATCH_TOO_LARGE).
 */
import { indexes, type AlienPatch } from "./alien-patch.js";
import type { SqlValue } from "./driver.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { encodedSizeBound } from "./row-validator.js";
import { PatchesEncoder } from "./wire/encoder.js";

/** Upper bound of the patch bytes one outgoing message carries, roughly. */
export const MAX_MESSAGE_PAYLOAD = 4 * 1024 * 1024;

export class PatchBatcher {
  private encoder: PatchesEncoder | undefined;
  private readonly tableIndex = new Map<ReplicatedTable, number>();
  /** Alien patches' tables, by name and column list (they are rare: a string key is fine). */
  private readonly rawIndex = new Map<string, number>();
  private readonly messages: Uint8Array[] = [];
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
    let bound = 32 + 5 * cols + encodedSizeBound(values);
    if (newTable) bound += 5 + tableName.length * 3 + columns.reduce((n, c) => n + 5 + c.length * 3, 0);
    if (e.bytesBound + bound > this.maxBytes) this.cut();
  }

  add(table: ReplicatedTable, peerId: number, seq: number, patchedAt: number, cols: number[], values: readonly SqlValue[]): void {
    this.makeRoom(table.name, table.columnNames, !this.tableIndex.has(table), cols.length, values);
    const e = this.open();
    let ti = this.tableIndex.get(table);
    if (ti === undefined) {
      ti = e.addTable(table.name, table.columnNames);
      this.tableIndex.set(table, ti);
    }
    e.add(ti, peerId, seq, patchedAt, cols, values);
    this.cutIfFull(e);
  }

  /** Adds an alien patch as it was received: its own table name and column names. */
  addAlien(a: AlienPatch): void {
    const key = a.table + "\u001f" + a.columns.join("\u001f");
    this.makeRoom(a.table, a.columns, !this.rawIndex.has(key), a.columns.length, a.values);
    const e = this.open();
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
    if (this.encoder && this.encoder.count > 0) {
      const m = this.encoder.finish();
      this.bytes += m.length;
      this.messages.push(m);
    }
    this.encoder = undefined;
  }

  /** The messages, the last one cut; the batcher is empty afterwards. */
  finish(): Uint8Array[] {
    this.cut();
    return this.messages.splice(0);
  }
}
