/**
 * @replic/conformance: one suite, run against every adapter.
 *
 *   import * as adapter from "../src/index";
 *   defineConformanceSuite({ name, adapter, openDatabase, closeDatabase, exec, all, childCommand });
 *
 *   defineDriverContract({ name, driverName, open, ... }); // the SqliteDriver contract alone
 *
 * Environment: REPLIC_PROPERTY_RUNS (fast-check runs, default 200), REPLIC_CRASH_KILLS (default 50, for the crash, the group crash and the capture crash tests).
 */
import { describe } from "vitest";
import { adoptionSuite } from "./adoption.js";
import { badInputSuite } from "./badinput.js";
import { basicSuite } from "./basic.js";
import { crashSuite } from "./crash.js";
import { ddlSuite } from "./ddl.js";
import { groupCrashSuite } from "./group-crash.js";
import { captureCrashSuite } from "./capture-crash.js";
import { hostileNeighboursSuite } from "./hostile-neighbours.js";
import { migrationsSuite } from "./migrations.js";
import { openersSuite } from "./openers.js";
import { upgradesSuite } from "./upgrades.js";
import { determinismSuite } from "./determinism.js";
import { divergenceSuite } from "./divergence.js";
import { coreBugsSuite } from "./core-bugs.js";
import { faultsSuite } from "./faults.js";
import { goldenSuite } from "./golden.js";
import { hostileSuite } from "./hostile.js";
import { propertySuite } from "./property.js";
import { scopesSuite } from "./scopes.js";
import { selfCheckSuite } from "./selfcheck.js";
import { tiesSuite } from "./ties.js";
import { watchSuite } from "./watch.js";
import type { ConformanceBinding } from "./types.js";

export type { AdapterModule, ConformanceBinding, DivergenceEventLike, ReplicaLike, ReplicaOptionsLike, SqlValue } from "./types.js";
export { defineDriverContract } from "./driver-contract.js";
export type { DriverContractOptions } from "./driver-contract.js";
export { driverContractCases, runDriverContractCase } from "./driver-contract-cases.js";
export type { ContractAssertion, ContractExpect, DriverContractCase, DriverContractForm, DriverFixture } from "./driver-contract-cases.js";
export { CRASH_CHILD_PATH, crashChildCommand } from "./crash.js";
export { CANONICAL_DIGEST, CANONICAL_MIGRATIONS, CANONICAL_PEERS, canonicalExpected, canonicalHistory } from "./canonical.js";
export { playCanonicalHistory } from "./determinism.js";
export { dumpDigest, dumpTable, modelDump, modelRows, patchesOf } from "./util.js";
export { MUSIC_STORE_DDL, MUSIC_STORE_SIZE, MUSIC_STORE_TABLES, insertSql, musicStoreRows, type MusicStoreSize, type MusicStoreTable } from "./music-store.js";

export function defineConformanceSuite<Db>(binding: ConformanceBinding<Db>): void {
  describe(`replic conformance: ${binding.name}`, () => {
    selfCheckSuite(binding);
    basicSuite(binding);
    goldenSuite(binding);
    ddlSuite(binding);
    badInputSuite(binding);
    hostileSuite(binding);
    hostileNeighboursSuite(binding);
    scopesSuite(binding);
    migrationsSuite(binding);
    openersSuite(binding);
    upgradesSuite(binding);
    faultsSuite(binding);
    coreBugsSuite(binding);
    determinismSuite(binding);
    propertySuite(binding);
    tiesSuite(binding);
    watchSuite(binding);
    adoptionSuite(binding);
    divergenceSuite(binding);
    crashSuite(binding);
    groupCrashSuite(binding);
    captureCrashSuite(binding);
  });
}
