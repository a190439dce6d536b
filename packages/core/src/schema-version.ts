/**
 * This replica's schema version as neighbours see it in heartbeats: the number of applied
 * migrations and a CRC-32 of their texts (two peers at the same count with different texts
 * differ in the hash). Peers on different versions keep replicating (alien-patch.ts).
 */
import { MIGRATIONS_TABLE } from "./bookkeeping.js";
import type { SqliteDriver } from "./driver.js";
import { crc32 } from "./wire/bytes.js";
import type { SchemaVersion } from "./wire/types.js";

const utf8 = new TextEncoder();

export function readSchemaVersion(driver: SqliteDriver): SchemaVersion {
  const rows = driver.prepare(`SELECT up, down FROM ${MIGRATIONS_TABLE} ORDER BY version`).all([]);
  return schemaVersionOf(rows.map((r) => ({ up: String(r[0]), down: String(r[1]) })));
}

/** The version of exactly these applied migrations (no SQL: safe after a commit). */
export function schemaVersionOf(applied: readonly { up: string; down: string }[]): SchemaVersion {
  if (applied.length === 0) return { version: 0, hash: 0 };
  let text = "";
  for (const m of applied) text += `${m.up}\u0000${m.down}\u0000`;
  return { version: applied.length, hash: crc32(utf8.encode(text)) };
}
