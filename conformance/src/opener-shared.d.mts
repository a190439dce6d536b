// Types of opener-shared.mjs (plain ESM, shared with the child process).
export declare const OPENER_MIGRATIONS: { up: string; down: string }[];
export declare const DROP_MIGRATIONS: { up: string; down: string }[];
