// A group too large to read at once, at full size: 24,000 rows with the default of 10,000 stored
// parts read into memory (test/large-group-cases.ts). Seconds each, so outside the mutation run,
// which runs the same cases small (test/rooms/inbound-groups.test.ts).
import { describe } from "vitest";
import { largeGroupCases } from "./large-group-cases.js";
import { ordersPeers } from "./orders-peers.js";

const peers = ordersPeers();

describe("inbound: a group larger than maxGroupInMemory merges from storage (24,000 rows)", { timeout: 60_000 }, () => {
  // 20,000 parts wait (above the default 10,000); the fifth message of 4,000 completes the group.
  largeGroupCases({ rows: 24_000, batch: 5000, inMemory: undefined, failAt: 15_000 }, peers);
});
