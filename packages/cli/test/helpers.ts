/** Runs the built `replic` bin as a subprocess (Node or Bun) on real files. */
import { spawn } from "node:child_process";
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openReplica } from "@replic/adapter-node";

export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
export const BUN = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function replic(args: string[], env: Record<string, string | undefined> = {}, runtime: "node" | "bun" = "node"): Promise<Run> {
  const cmd = runtime === "node" ? "node" : BUN;
  const child = spawn(cmd, [BIN, ...args], { env: { ...process.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_ENDPOINT_URL_S3: undefined, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

export const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT, n INTEGER, deletedAt INTEGER);
         CREATE TABLE items_patches (id TEXT, title TEXT, n INTEGER, deletedAt INTEGER,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: `DROP TABLE items_patches; DROP TABLE items;`,
  },
];

/** A closed replic database with `rows` rows, some updated, one deleted, one with an explicit NULL. */
export function makeReplicDb(path: string, rows = 50): number {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  const r = openReplica(db, { heartbeatMs: 0 });
  r.migrate(MIGRATIONS);
  for (let i = 0; i < rows; i++) r.upsert("items", { id: `i${i}`, title: `t${i}`, n: i });
  for (let i = 0; i < rows; i += 5) r.upsert("items", { id: `i${i}`, n: i * 10 });
  r.upsert("items", { id: "i1", deletedAt: 123 });
  r.upsert("items", { id: "i2", title: null });
  const id = r.peerId;
  r.close();
  db.close();
  return id;
}

export const fileSha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
