/**
 * Option names: a misspelt option is refused with the closest known name, an option of the design
 * contract that this version does not implement is refused as such, and nothing is written to the
 * database by a refused open.
 */
import { describe, expect, it } from "vitest";
import { createReplica, isReplicError, type ReplicaOptions } from "../src/index.js";
import { closestOption, KNOWN_OPTIONS } from "../src/options.js";
import { testDriver } from "./helpers.js";
import { ITEMS_DDL } from "./sim.js";

/** The INVALID_OPTION message of an open with these options, on a fresh database left untouched. */
function refusal(options: Record<string, unknown>): string {
  const d = testDriver();
  let message: string | undefined;
  try {
    createReplica(d, options as ReplicaOptions).close();
  } catch (e) {
    expect(isReplicError(e) && e.code).toBe("INVALID_OPTION");
    message = (e as Error).message;
  }
  expect(d.db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get()).toBe(0);
  if (message === undefined) throw new Error(`${JSON.stringify(Object.keys(options))} was accepted`);
  return message;
}

describe("option names", () => {
  it("refuses a misspelt name, naming it and the closest known one", () => {
    expect(refusal({ heartbeatMs: 0, hearbeatMs: 10 })).toBe('unknown option "hearbeatMs"; did you mean heartbeatMs?');
    expect(refusal({ peerid: 3 })).toBe('unknown option "peerid"; did you mean peerId?');
    expect(refusal({ retentoinMs: 1 })).toBe('unknown option "retentoinMs"; did you mean retentionMs?'); // a transposition is one edit
    expect(refusal({ maxBatchPatch: 5 })).toBe('unknown option "maxBatchPatch"; did you mean maxBatchPatches?');
  });

  it("refuses a name close to nothing without a guess, also when its value is undefined", () => {
    expect(refusal({ colour: "red" })).toBe('unknown option "colour"');
    expect(refusal({ heartbeat: undefined })).toBe('unknown option "heartbeat"; did you mean heartbeatMs?');
  });

  it("refuses the contract's options this version does not implement, with its own message", () => {
    for (const name of ["signing", "trust"]) {
      expect(KNOWN_OPTIONS[name as keyof typeof KNOWN_OPTIONS]).toBe("not-yet");
      const value = { signing: { privateKey: "k" }, trust: { keys: {} } }[name];
      expect(refusal({ heartbeatMs: 0, [name]: value })).toBe(`option ${name} is not supported by this version of replic (it is refused, not ignored)`);
    }
    // Given as undefined, such an option is absent: the open goes ahead.
    const d = testDriver();
    createReplica(d, { heartbeatMs: 0, signing: undefined, capture: undefined }).close();
  });

  it("accepts every supported name", () => {
    const d = testDriver();
    d.exec(ITEMS_DDL);
    const given: ReplicaOptions = {
      peerId: 7,
      heartbeatMs: 0,
      now: Date.now,
      maxClockDriftMs: 1000,
      retentionMs: 0,
      maxBatchPatches: 10,
      maxInflightPatches: 10,
      requestTimeoutMs: 300,
      maxServeBytes: 1 << 20,
      maxOrigins: 5,
      fullHeartbeatEvery: 10,
      idleHeartbeatEvery: 3,
      maxHeldPatches: 5,
      maxIncompletePatches: 5,
      maxGroupInMemory: 5,
      limits: { maxPatches: 100 },
      waitTimeoutMs: 100,
      logger: { warn: () => {} },
      capture: [],
      scope: { items: { id: [1] } },
      scrub: { rowsPerRound: 10 },
      repair: "rebuild",
    };
    // A name added to KNOWN_OPTIONS needs a valid value above.
    const supported = Object.entries(KNOWN_OPTIONS).filter(([, v]) => v === "supported").map(([k]) => k);
    expect(Object.keys(given).sort()).toEqual(supported.sort());
    const r = createReplica(d, given);
    expect(r.peerId).toBe(7);
    r.close();
  });

  it("suggests only names within a third of the name's length (at least 2 edits)", () => {
    expect(closestOption("nowx")).toBe("now");
    expect(closestOption("logr")).toBe("logger");
    expect(closestOption("zzzzzzzz")).toBeUndefined();
    expect(closestOption("MAXORIGINS")).toBe("maxOrigins"); // case does not count
  });
});
