import type Database from "better-sqlite3";
import type { Replica } from "@replic/adapter-node";
import type { WebSocketServer } from "@replic/transport-ws";

export interface Demo {
  url: string;
  hubUrl: string;
  db: Database.Database;
  replica: Replica;
  hub: WebSocketServer;
  web: { port: number; url: string; close(): Promise<void> };
  /** Brings the hub back (after hub.close()) on the same server and URL. */
  reopenHub(): Promise<void>;
  close(): Promise<void>;
}
export declare function startDemo(options: { dist: string; dbPath?: string; port?: number; heartbeatMs?: number; secret?: string }): Promise<Demo>;
