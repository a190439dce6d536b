// Types of capture-crash-shared.mjs (plain ESM shared with the crash child).
export declare const CAPTURE_MIGRATIONS: { up: string; down: string }[];
export declare function captureTransaction(id: number): string;
export declare function rolledBackTransaction(id: number): string;
