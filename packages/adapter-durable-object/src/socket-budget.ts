/**
 * Per-socket bounds of the hub, both ways. Hibernation sockets expose no `bufferedAmount`, so the
 * hub cannot see what waits unsent; it counts instead:
 * - send side: bytes sent since the client last proved it reads. Past half of `maxBufferedBytes`
 *   the hub sends a ping; the client's pong (its frames are read in order, so the pong comes after
 *   everything sent before the ping) acknowledges those bytes. Over `maxBufferedBytes` replic
 *   patch messages are withheld; over twice it, every replic message is (control frames still go).
 *   Anti-entropy re-sends what was withheld once the client reads again. A ping unanswered for
 *   `deadAfterMs` closes the socket: the client does not read.
 * - receive side: a token bucket of bytes and of frames per second; a frame beyond it closes the
 *   socket (code 4429) and is not handled.
 * Kept in memory: an object woken from hibernation starts every socket's counts again at zero.
 */

export interface BudgetOptions {
  maxBufferedBytes: number;
  maxInboundBytesPerSecond: number;
  maxInboundFramesPerSecond: number;
  maxMessageBytes: number;
}

export class SocketBudget {
  /** Bytes sent and not yet acknowledged by a pong. */
  unacked = 0;
  /** When our unanswered ping went out, and how many bytes its pong acknowledges. */
  pingAt: number | undefined;
  private pingCovers = 0;
  private bytes: number;
  private frames: number;
  private refilledAt: number;

  constructor(private readonly o: BudgetOptions, now: number) {
    this.bytes = this.byteBurst();
    this.frames = this.frameBurst();
    this.refilledAt = now;
  }

  /** One second of budget, and at least one frame of the largest size. */
  private byteBurst(): number {
    return Math.max(this.o.maxInboundBytesPerSecond, this.o.maxMessageBytes);
  }

  private frameBurst(): number {
    return Math.max(1, this.o.maxInboundFramesPerSecond);
  }

  /** Whether a replic message must be withheld now (patches first: they are the bulk). */
  withholds(isPatches: boolean): boolean {
    const max = this.o.maxBufferedBytes;
    return this.unacked > 2 * max || (isPatches && this.unacked > max);
  }

  sent(size: number): void {
    this.unacked += size;
  }

  /** True when a ping should follow what was just sent; then it counts as sent at `now`. */
  wantsPing(now: number): boolean {
    if (this.pingAt !== undefined || this.unacked <= this.o.maxBufferedBytes / 2) return false;
    this.pingAt = now;
    this.pingCovers = this.unacked;
    return true;
  }

  /** A pong: everything sent before our ping was read. False if we had no ping out. */
  pong(): boolean {
    if (this.pingAt === undefined) return false;
    this.unacked = Math.max(0, this.unacked - this.pingCovers);
    this.pingAt = undefined;
    this.pingCovers = 0;
    return true;
  }

  /** Takes a received frame from the budget; false when it is over (the socket must close). */
  take(size: number, now: number): boolean {
    const dt = Math.max(0, now - this.refilledAt) / 1000;
    this.refilledAt = now;
    this.bytes = Math.min(this.byteBurst(), this.bytes + dt * this.o.maxInboundBytesPerSecond);
    this.frames = Math.min(this.frameBurst(), this.frames + dt * this.o.maxInboundFramesPerSecond);
    this.bytes -= size;
    this.frames -= 1;
    return this.bytes >= 0 && this.frames >= 0;
  }
}
