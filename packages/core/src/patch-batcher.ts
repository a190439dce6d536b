/**
 * Cuts a stream of patches into messages of at most `maxPatches` patches and about 4 MiB each,
 * encoding as it goes (nothing is kept per patch).
 */
import { indexes, type AlienPatch } from "./alien-patch.js";
import type { SqlValue } from "./driver.js";
import type { ReplicatedTable } from "./replicated-table.js";
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

  constructor(private readonly maxPatches: number) {}

  add(table: ReplicatedTable, peerId: number, seq: number, patchedAt: number, cols: number[], values: readonly SqlValue[]): void {
    let e = this.encoder;
    if (!e) {
      e = this.encoder = new PatchesEncoder();
      this.tableIndex.clear();
      this.rawIndex.clear();
    }
    let ti = this.tableIndex.get(table);
    if (ti === undefined) {
      ti = e.addTable(table.name, table.columnNames);
      this.tableIndex.set(table, ti);
    }
    e.add(ti, peerId, seq, patchedAt, cols, values);
    if (e.count >= this.maxPatches || e.size >= MAX_MESSAGE_PAYLOAD) this.cut();
  }

  /** Adds an alien patch as it was received: its own table name and column names. */
  addAlien(a: AlienPatch): void {
    let e = this.encoder;
    if (!e) {
      e = this.encoder = new PatchesEncoder();
      this.tableIndex.clear();
      this.rawIndex.clear();
    }
    const key = a.table + "\u001f" + a.columns.join("\u001f");
    let ti = this.rawIndex.get(key);
    if (ti === undefined) {
      ti = e.addTable(a.table, a.columns);
      this.rawIndex.set(key, ti);
    }
    e.add(ti, a.peerId, a.seq, a.patchedAt, indexes(a.columns.length), a.values);
    if (e.count >= this.maxPatches || e.size >= MAX_MESSAGE_PAYLOAD) this.cut();
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
