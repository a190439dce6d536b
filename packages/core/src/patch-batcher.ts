/**
 * Cuts a stream of patches into messages of at most `maxPatches` patches and about 4 MiB each,
 * encoding as it goes (nothing is kept per patch).
 */
import type { SqlValue } from "./driver.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { PatchesEncoder } from "./wire/encoder.js";

/** Upper bound of the patch bytes one outgoing message carries, roughly. */
export const MAX_MESSAGE_PAYLOAD = 4 * 1024 * 1024;

export class PatchBatcher {
  private encoder: PatchesEncoder | undefined;
  private readonly tableIndex = new Map<ReplicatedTable, number>();
  private readonly messages: Uint8Array[] = [];
  /** Bytes of the messages cut so far. */
  bytes = 0;

  constructor(private readonly maxPatches: number) {}

  add(table: ReplicatedTable, peerId: number, seq: number, patchedAt: number, cols: number[], values: readonly SqlValue[]): void {
    let e = this.encoder;
    if (!e) {
      e = this.encoder = new PatchesEncoder();
      this.tableIndex.clear();
    }
    let ti = this.tableIndex.get(table);
    if (ti === undefined) {
      ti = e.addTable(table.name, table.columnNames);
      this.tableIndex.set(table, ti);
    }
    e.add(ti, peerId, seq, patchedAt, cols, values);
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
