export declare const TODO_MIGRATIONS: { up: string; down: string }[];
