export declare function serveStatic(
  root: string,
  options?: { port?: number; config?: Record<string, unknown> },
): Promise<{ port: number; url: string; close(): Promise<void> }>;
