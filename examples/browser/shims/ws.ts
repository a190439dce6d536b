/**
 * Browser stand-in for the `ws` package, for @replic/transport-ws's client: the same small
 * surface (`on(open|message|close|error)`, `send`, `bufferedAmount`, `close`, `terminate`) over
 * the browser's global WebSocket. Only the demo's Vite config uses it (see vite.sqlite.ts).
 */
type Handler = (...args: unknown[]) => void;

export class WebSocket {
  private readonly ws: globalThis.WebSocket;
  constructor(url: string) {
    this.ws = new globalThis.WebSocket(url);
    this.ws.binaryType = "arraybuffer";
  }
  on(event: "open" | "message" | "close" | "error", fn: Handler): this {
    const ws = this.ws;
    if (event === "open") ws.addEventListener("open", () => fn());
    else if (event === "message")
      ws.addEventListener("message", (e) => (typeof e.data === "string" ? fn(e.data, false) : fn(new Uint8Array(e.data as ArrayBuffer), true)));
    else if (event === "close") ws.addEventListener("close", (e) => fn(e.code, e.reason));
    else if (event === "error") ws.addEventListener("error", () => fn(new Error("WebSocket error")));
    return this;
  }
  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  close(code?: number, reason?: string): void {
    this.ws.close(code === undefined || code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
  }
  terminate(): void {
    this.ws.close();
  }
}

export class WebSocketServer {
  constructor() {
    throw new Error("a WebSocket server cannot run in a browser");
  }
}
export default WebSocket;
