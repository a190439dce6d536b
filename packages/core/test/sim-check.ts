// What a simulator run must end with, shared by the core's simulation test and the adapters'.
import { expect } from "vitest";
import { simulate, type SimBinding } from "./sim.js";

/** Every peer holds the model's rows in every table, the same patches and the model's heads. */
export function expectConverged(res: ReturnType<typeof simulate>, label: string): void {
  for (const d of res.dumps) expect(d, `${label}: rows`).toBe(res.dumps[0]);
  expect(res.dumps[0], `${label}: rows equal the model`).toBe(res.expected);
  for (const d of res.patchDumps) expect(d, `${label}: patches`).toBe(res.patchDumps[0]);
  for (const h of res.heads) expect(h, `${label}: status() heads equal the model's`).toBe(res.expectedHeads);
  expect(res.writes, label).toBeGreaterThan(0);
  expect(res.divergences, `${label}: no row found differing from its patches by the scrub`).toEqual([]);
}

/** Runs seeds first..first+seeds-1 on a binding; returns how many crash-restarts happened. */
export function simulationRuns(binding: SimBinding, first: number, seeds: number, replicaOptions?: Record<string, unknown>): number {
  let crashes = 0;
  for (let seed = first; seed < first + seeds; seed++) {
    const res = simulate({ seed, binding, ...(replicaOptions ? { replicaOptions } : {}) });
    crashes += res.crashes;
    expectConverged(res, `[${binding.name}] seed ${seed} (${res.n} peers, ${res.topology}, ${res.writes} writes, ${res.crashes} crashes, ${res.rounds} heal rounds)`);
  }
  return crashes;
}
