import type { Server } from "node:http";

export declare function serveStatic(
  root: string,
  options?: { port?: number },
): Promise<{ port: number; url: string; server: Server; close(): Promise<void> }>;
