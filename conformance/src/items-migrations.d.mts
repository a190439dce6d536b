export declare const MIGRATIONS: { up: string; down: string }[];
