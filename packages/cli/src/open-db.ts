/** Opens a database file for a command, with the runtime's binding (bun:sqlite or better-sqlite3). */
import { existsSync } from "node:fs";
import { openDatabase, type OpenedDatabase } from "@replic/snapshot-s3";
import { CliError } from "./cli-error.js";

export async function openExisting(path: string): Promise<OpenedDatabase> {
  // The bindings would create a missing file; a typo must not leave an empty database behind.
  if (!existsSync(path)) throw new CliError("NOT_FOUND", `no database file at ${path}`);
  return openDatabase(path);
}
