// Types of replica-process.mjs (plain ESM, run by the transports' replica processes).
export declare const MIGRATIONS: { up: string; down: string }[];
export declare function runReplicaProcess(options: {
  load: (name: string) => Promise<any>;
  attach: (replica: any, cfg: Record<string, any>, logger: { warn(m: string): void }) => Promise<{
    ready?: Record<string, unknown>;
    links(): number;
    command?(c: Record<string, unknown>): unknown;
    close(): Promise<void>;
  }>;
}): Promise<void>;
