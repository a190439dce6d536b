/**
 * A NATS message of this transport: type, sender peer id, then (for data) one replic message.
 *
 *   01 peerId:u32be            hello (I am here; answer with yours)
 *   02 peerId:u32be            bye
 *   03 peerId:u32be replic…    data
 */
import { DecodeError } from "@replic/core";

export type NatsFrame = { type: "hello" | "bye"; from: number } | { type: "data"; from: number; bytes: Uint8Array };

const TYPES = { hello: 1, bye: 2, data: 3 } as const;

export function encodeFrame(f: NatsFrame): Uint8Array {
  const body = f.type === "data" ? f.bytes : new Uint8Array(0);
  const out = new Uint8Array(5 + body.length);
  out[0] = TYPES[f.type];
  new DataView(out.buffer).setUint32(1, f.from);
  out.set(body, 5);
  return out;
}

export function decodeFrame(bytes: Uint8Array): NatsFrame {
  if (bytes.length < 5) throw new DecodeError(`NATS frame of ${bytes.length} bytes`, 0);
  const from = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1);
  switch (bytes[0]) {
    case TYPES.hello:
    case TYPES.bye:
      if (bytes.length !== 5) throw new DecodeError("hello/bye frame with trailing bytes", 5);
      return { type: bytes[0] === TYPES.hello ? "hello" : "bye", from };
    case TYPES.data:
      return { type: "data", from, bytes: bytes.subarray(5) };
    default:
      throw new DecodeError(`unknown NATS frame type ${bytes[0]}`, 0);
  }
}
