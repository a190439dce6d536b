/**
 * Puts a verified database file in place of `target` atomically: checkpoint and remove the old
 * file's WAL (or refuse when another process holds it), fsync, then rename over it. Before the
 * rename the old file is untouched; after it the new one is complete.
 */
import { existsSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { SnapshotError } from "./errors.js";
import type { OpenDatabase } from "./open-database.js";

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

export async function installDatabase(source: string, target: string, openDb: OpenDatabase): Promise<void> {
  const sidecars = () => existsSync(target + "-wal") || existsSync(target + "-journal");
  if (sidecars()) {
    // A read rolls back a hot journal; closing the last connection checkpoints the WAL into the
    // file and deletes it. A renamed-in file must never meet the old file's WAL or journal.
    const old = await openDb(target);
    try {
      old.driver.prepare("SELECT count(*) FROM sqlite_master").get([]);
      old.driver.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      old.close();
    }
    if (sidecars()) {
      throw new SnapshotError("SNAPSHOT_IN_USE", `${target} is open in another process (its WAL or journal is still there); close it before restoring`);
    }
  }
  await rm(target + "-shm", { force: true });
  await fsyncPath(source);
  await rename(source, target);
  await fsyncPath(dirname(target));
}
