/**
 * A consistent online snapshot: `VACUUM INTO` a private file (SQLite copies one read
 * transaction's view, WAL included, while writers go on), read the manifest facts from that
 * copy, then gzip it. Never a raw copy of the database file.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SqliteDriver } from "@replic/core";
import { readFacts, type DatabaseFacts } from "./database-facts.js";
import { SnapshotError } from "./errors.js";
import { gzipFile, type Digest } from "./file-hash.js";
import { openDatabase, type OpenDatabase } from "./open-database.js";
import type { ProgressCallbacks } from "./progress.js";

export interface TakeSnapshotOptions extends ProgressCallbacks {
  /** Directory for the temporary files. Default: the OS temp dir. */
  tmpDir?: string;
  /** Opens a SQLite file; default: bun:sqlite under Bun, better-sqlite3 under Node. */
  open?: OpenDatabase;
  /** Wall clock (tests). Default Date.now. */
  now?: () => number;
}

export interface LocalSnapshot extends DatabaseFacts {
  /** The gzip file, ready to upload. */
  file: string;
  gz: Digest;
  db: Digest;
  createdMs: number;
  /** Deletes the temporary files. */
  dispose(): Promise<void>;
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Snapshots the database behind `driver` (a live replica may keep writing through it). */
export async function takeSnapshot(driver: SqliteDriver, options: TakeSnapshotOptions = {}): Promise<LocalSnapshot> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "replic-snapshot-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const copy = join(dir, `${randomBytes(4).toString("hex")}.db`);
    const createdMs = (options.now ?? Date.now)();
    options.onProgress?.({ phase: "snapshot", bytes: 0 });
    try {
      driver.exec(`VACUUM INTO ${sqlString(copy)}`);
    } catch (err) {
      throw new SnapshotError("SNAPSHOT_SOURCE", `VACUUM INTO failed: ${(err as Error).message}`, { cause: err });
    }
    const opened = await (options.open ?? openDatabase)(copy);
    let facts: DatabaseFacts;
    try {
      facts = readFacts(opened.driver);
    } finally {
      opened.close();
    }
    const file = copy + ".gz";
    const { raw, gz } = await gzipFile(copy, file, (bytes, total) => options.onProgress?.({ phase: "compress", bytes, total }));
    await rm(copy, { force: true });
    return { ...facts, file, gz, db: raw, createdMs, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
