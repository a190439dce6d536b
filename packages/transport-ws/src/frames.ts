/**
 * Control frames of the WebSocket transport. Every replic message starts with its magic byte
 * 0x72; a control frame starts with 0x00, so one binary channel carries both unambiguously.
 *
 *   hello: 00 01 "rws" version:u8 peerId:u32be nonce:16 bytes
 *   auth:  00 02 length:u8 proof:length bytes (0 = no secret configured)
 *   ping:  00 03      pong: 00 04
 */
import { DecodeError } from "@replic/core";

export const CONTROL = 0x00;
/** Version of this transport's handshake, independent of the replic wire version. */
export const TRANSPORT_VERSION = 1;
export const NONCE_BYTES = 16;
const MAGIC = [0x72, 0x77, 0x73]; // "rws"
const HELLO = 1;
const AUTH = 2;
const PING = 3;
const PONG = 4;

export type ControlFrame =
  | { type: "hello"; version: number; peerId: number; nonce: Uint8Array }
  | { type: "auth"; proof: Uint8Array }
  | { type: "ping" }
  | { type: "pong" };

export function isControlFrame(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === CONTROL;
}

export function encodeControl(frame: ControlFrame): Uint8Array {
  switch (frame.type) {
    case "hello": {
      const out = new Uint8Array(2 + MAGIC.length + 1 + 4 + NONCE_BYTES);
      out.set([CONTROL, HELLO, ...MAGIC, frame.version]);
      new DataView(out.buffer).setUint32(6, frame.peerId);
      out.set(frame.nonce, 10);
      return out;
    }
    case "auth": {
      const out = new Uint8Array(3 + frame.proof.length);
      out.set([CONTROL, AUTH, frame.proof.length]);
      out.set(frame.proof, 3);
      return out;
    }
    case "ping":
      return Uint8Array.of(CONTROL, PING);
    case "pong":
      return Uint8Array.of(CONTROL, PONG);
  }
}

/** Decodes a control frame; throws DecodeError (code DECODE) for anything malformed. */
export function decodeControl(bytes: Uint8Array): ControlFrame {
  if (bytes.length < 2 || bytes[0] !== CONTROL) throw new DecodeError("not a transport control frame", 0);
  switch (bytes[1]) {
    case HELLO: {
      if (bytes.length !== 10 + NONCE_BYTES) throw new DecodeError(`hello frame of ${bytes.length} bytes`, 0);
      for (let i = 0; i < MAGIC.length; i++) if (bytes[2 + i] !== MAGIC[i]) throw new DecodeError("hello frame without magic", 2 + i);
      const version = bytes[5];
      const peerId = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(6);
      return { type: "hello", version, peerId, nonce: bytes.slice(10) };
    }
    case AUTH: {
      if (bytes.length < 3 || bytes.length !== 3 + bytes[2]) throw new DecodeError("auth frame length mismatch", 2);
      return { type: "auth", proof: bytes.slice(3) };
    }
    case PING:
    case PONG:
      if (bytes.length !== 2) throw new DecodeError("ping/pong frame with trailing bytes", 2);
      return { type: bytes[1] === PING ? "ping" : "pong" };
    default:
      throw new DecodeError(`unknown control frame type ${bytes[1]}`, 1);
  }
}
