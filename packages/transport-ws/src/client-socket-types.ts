/** What a client socket reports, and what dialling takes; shared by every runtime's dial(). */
export interface SocketEvents {
  open(): void;
  data(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
  error(message: string): void;
}

export interface DialOptions {
  headers?: Record<string, string>;
  maxPayload: number;
}
