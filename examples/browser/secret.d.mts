export declare const DEMO_SECRET: string;
