// Types of crash-shared.mjs (plain ESM so the crash child can run it without a compiler).
export declare const REMOTE_PEER: number;
export declare const PATCHES_PER_MESSAGE: number;
export declare const ROWS_PER_MIGRATION: number;
export declare function crashMigrations(runs: number): { up: string; down: string }[];
export declare function crashRow(id: number, run: number): { id: number; run: number; label: string; payload: Uint8Array };
export declare function openCrashDatabase(driver: string, nativeModule: string, dbPath: string, journal: "wal" | "delete"): Promise<unknown>;
