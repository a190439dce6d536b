// A Node spoke (better-sqlite3 file, connectWebSocket) on the items table, for the hub tests.
import { createHash } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "@replic/conformance/replica-process";
import { openReplica, type Replica } from "@replic/adapter-node";
import { connectWebSocket, type WebSocketLink } from "@replic/transport-ws";
import type { Workerd } from "./workerd";

export const quiet = { warn: () => {} };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Spoke {
  replica: Replica;
  link: WebSocketLink;
  rows(): { id: string; v: number; body: string }[];
  close(): Promise<void>;
}

export function nodeSpoke(w: Workerd, dir: string, name: string, peerId: number, secret?: string): Spoke {
  const db = new Database(join(dir, `${name}.db`));
  const replica = openReplica(db, { peerId, heartbeatMs: 200, logger: quiet });
  replica.migrate(MIGRATIONS);
  const link = connectWebSocket(replica, w.wsUrl, { secret, logger: quiet, reconnectBaseMs: 50, reconnectMaxMs: 400, pingIntervalMs: 1000, deadAfterMs: 4000 });
  return {
    replica,
    link,
    rows: () => db.prepare("SELECT id, v, body FROM items ORDER BY id").all() as { id: string; v: number; body: string }[],
    async close() {
      await link.close();
      replica.close();
      db.close();
    },
  };
}

const digest = (x: unknown) => createHash("sha256").update(JSON.stringify(x)).digest("hex");

/** Polls until every spoke and the hub hold the same rows. */
export async function allConverged(w: Workerd, spokes: Spoke[], timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hub = digest(await w.json("/rows"));
    if (spokes.every((s) => digest(s.rows()) === hub)) return true;
    await sleep(200);
  }
  return false;
}

/** One counter of the hub's Prometheus text (0 when absent). */
export async function hubMetric(w: Workerd, name: string): Promise<number> {
  const text = await (await w.fetch("/replic/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}
