// Shared by the transport tests: an in-memory replica on better-sqlite3, waits, a quiet logger.
import Database from "better-sqlite3";
import { openReplica, type Replica } from "@replic/adapter-node";
import { MIGRATIONS } from "@replic/conformance/replica-process";

export { MIGRATIONS };


export interface TestPeer {
  db: Database.Database;
  replica: Replica;
  rows(): string;
  count(): number;
  close(): void;
}

export function openPeer(peerId: number, heartbeatMs = 100): TestPeer {
  const db = new Database(":memory:");
  const replica = openReplica(db, { peerId, heartbeatMs });
  replica.migrate(MIGRATIONS);
  return {
    db,
    replica,
    rows: () => JSON.stringify(db.prepare("SELECT id, v, body FROM items ORDER BY id").all()),
    count: () => (db.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n,
    close() {
      replica.close();
      db.close();
    },
  };
}

export async function until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function quietLogger(): { warn(m: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m) };
}

/** Reads one series' value for the given label substring from Prometheus text. */
export function metric(text: string, name: string, labelPart = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`replic_ws_${name}{`) && line.includes(labelPart)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
