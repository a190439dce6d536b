/** The few Bun APIs this package uses, typed locally so the package builds without Bun's types. */
export interface BunServerWebSocket<T> {
  data: T;
  send(data: Uint8Array, compress?: boolean): number;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface BunServer {
  port: number;
  upgrade<T>(req: Request, options: { data: T; headers?: HeadersInit }): boolean;
  requestIP(req: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

export interface BunWebSocketHandler<T> {
  open(ws: BunServerWebSocket<T>): void;
  message(ws: BunServerWebSocket<T>, data: string | Uint8Array): void;
  close(ws: BunServerWebSocket<T>, code: number, reason: string): void;
  maxPayloadLength: number;
}

export interface BunGlobal {
  serve(options: {
    port?: number;
    hostname?: string;
    fetch(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
    websocket: BunWebSocketHandler<unknown>;
  }): BunServer;
}

export function bunGlobal(): BunGlobal | undefined {
  return (globalThis as { Bun?: BunGlobal }).Bun;
}
