/** `replic verify`: integrity, table contract, and every table consistent with its patches. */
import { createReplica, type SqliteDriver } from "@replic/core";
import { isReplicDatabase } from "@replic/snapshot-s3";
import { verifyTable, type TableVerification } from "./verify-table.js";

export interface Verification {
  ok: boolean;
  integrity: string[];
  /** "ok", or why opening a replica refused the schema. */
  contract: string;
  tables: TableVerification[];
}

export function verifyDatabase(driver: SqliteDriver, progress?: { tables?: (n: number) => void; rows?: (table: string, done: number) => void }): Verification {
  const integrity = driver.prepare("PRAGMA integrity_check").all([]).map((r) => String(r[0]));
  const out: Verification = { ok: false, integrity, contract: "ok", tables: [] };
  if (integrity.length !== 1 || integrity[0] !== "ok") return out;
  if (!isReplicDatabase(driver)) {
    out.contract = "not a replic database (no replica was ever opened on it)";
    return out;
  }
  let tables: string[];
  try {
    const replica = createReplica(driver, { heartbeatMs: 0 });
    tables = replica.status().tables;
    replica.close();
  } catch (err) {
    out.contract = (err as Error).message;
    return out;
  }
  progress?.tables?.(tables.length);
  for (const t of tables) out.tables.push(verifyTable(driver, t, (n) => progress?.rows?.(t, n)));
  out.ok = out.tables.every((t) => t.mismatchedRows === 0 && t.missingRows === 0);
  return out;
}
