// The few web-standard globals the core uses; every target runtime (Node, Bun, browsers,
// edge workers) has them. Declared here so the core compiles without DOM or Node typings.
declare class TextEncoder {
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
declare function setTimeout(handler: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function setInterval(handler: () => void, ms?: number): unknown;
declare function clearInterval(handle: unknown): void;
declare class Response {
  constructor(body?: string | null, init?: { status?: number; headers?: Record<string, string> });
}
declare function queueMicrotask(callback: () => void): void;
declare const performance: { now(): number };
declare const console: { error(...data: unknown[]): void };
