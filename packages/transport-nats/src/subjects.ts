/** Subject names: one cluster subject everyone hears, one per peer for directed traffic. */
import { ReplicError } from "@replic/core";

const TOKEN = /^[A-Za-z0-9_-]+$/;

export function subjectsFor(prefix: string, cluster: string) {
  if (typeof cluster !== "string" || !TOKEN.test(cluster)) {
    throw new ReplicError("INVALID_OPTION", `cluster must be letters, digits, "_" or "-", got ${JSON.stringify(cluster)}`);
  }
  if (typeof prefix !== "string" || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new ReplicError("INVALID_OPTION", `subjectPrefix must be dot-separated tokens, got ${JSON.stringify(prefix)}`);
  }
  const base = `${prefix}.${cluster}`;
  return {
    all: `${base}.all`,
    peer: (peerId: number) => `${base}.peer.${peerId}`,
  };
}
