/**
 * What travels on a BroadcastChannel: structured-clone objects, each tagged with the sender and,
 * for replic messages, the one peer it is for (every member sees every post).
 */
export type ChannelFrame =
  | { t: "hello"; from: number; reply: boolean }
  | { t: "bye"; from: number }
  | { t: "msg"; from: number; to: number; bytes: Uint8Array };

export function isChannelFrame(v: unknown): v is ChannelFrame {
  if (typeof v !== "object" || v === null) return false;
  const f = v as Record<string, unknown>;
  if (!Number.isInteger(f.from) || (f.from as number) < 0 || (f.from as number) > 0xffffffff) return false;
  switch (f.t) {
    case "hello":
      return typeof f.reply === "boolean";
    case "bye":
      return true;
    case "msg":
      return Number.isInteger(f.to) && f.bytes instanceof Uint8Array;
    default:
      return false;
  }
}
