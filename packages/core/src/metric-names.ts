/**
 * The catalogue of replic's metrics: every name, its type and help, in one place, so a typo is a
 * compile error and `metrics()` exposes every family from the start (as 0).
 */
export const METRICS = {
  messages_in_total: ["counter", "Messages received, by kind."],
  messages_out_total: ["counter", "Messages sent, by kind."],
  bytes_in_total: ["counter", "Bytes received."],
  bytes_out_total: ["counter", "Bytes sent."],
  patches_local_total: ["counter", "Patches written locally."],
  patches_applied_total: ["counter", "Remote patches merged."],
  patches_duplicate_total: ["counter", "Remote patches ignored as already held."],
  patches_too_old_total: ["counter", "Remote patches refused as older than the retention horizon."],
  patches_own_refused_total: ["counter", "Patches of this replica's own origin that it did not write, refused."],
  patches_held_total: ["counter", "Remote patches held back because they are stamped beyond the clock-drift bound."],
  patches_released_total: ["counter", "Held-back patches merged once the local clock came within the bound."],
  patches_held_refused_total: ["counter", "Far-future patches refused because the hold was full."],
  patches_alien_kept_total: ["counter", "Remote patches kept whole because they name a table or column unknown here."],
  alien_patches: ["gauge", "Patches kept whole now because they name a table or column unknown here, by table."],
  schema_version: ["gauge", "Migrations applied to this replica's schema."],
  patches_held: ["gauge", "Patches held back now (stamped beyond the clock-drift bound)."],
  groups_completed_total: ["counter", "Groups (transactions of two or more patches) received whole and merged at once."],
  groups_refused_total: ["counter", "Messages refused whole because a group's parts disagree (bounds, stamps, overlaps)."],
  messages_out_of_scope_total: ["counter", "Patches messages refused whole because a patch was outside what the sending neighbour may write (addPeer's allow)."],
  incomplete_parked_total: ["counter", "Received parts of groups stored until the rest of their group arrives."],
  incomplete_refused_total: ["counter", "Parts of incomplete groups refused because the store was full (asked again later)."],
  incomplete_groups: ["gauge", "Groups waiting for their missing parts now."],
  incomplete_group_patches: ["gauge", "Parts of incomplete groups stored now."],
  incomplete_groups_overdue_total: ["counter", "Groups still incomplete once their stamp was older than the retention window (reported once each)."],
  rows_parked_total: ["counter", "Merged rows parked because they break a constraint of their table (NOT NULL, CHECK, UNIQUE, foreign key)."],
  rows_released_total: ["counter", "Parked rows shown once valid."],
  parked_rows: ["gauge", "Rows parked now, by table and reason."],
  scrubbed_rows_total: ["counter", "Rows checked against the merge of their patches by the scrub of heartbeat rounds."],
  divergent_rows_found_total: ["counter", "Rows the scrub found differing from the merge of their patches, by table."],
  divergent_rows: ["gauge", "Rows known to differ from the merge of their patches now (found and not repaired), by table."],
  rows_rebuilt_total: ["counter", "Rows of replicated tables rewritten, added or taken out by rebuilds (rebuild() and repair: \"rebuild\")."],
  patches_conflicting_total: ["counter", "Patches that differ from the stored one under the same sequence (two writers under one id)."],
  patches_collected_total: ["counter", "Patches garbage-collected after the retention window."],
  gc_errors_total: ["counter", "Garbage collections that failed (retried later)."],
  gaps_requested_total: ["counter", "Gap ranges requested from neighbours."],
  gap_patches_requested_total: ["counter", "Patches requested to fill gaps."],
  gaps_served_total: ["counter", "Gap ranges served to neighbours."],
  patches_served_total: ["counter", "Patches sent in answer to gap requests."],
  serve_bytes_deferred_total: ["counter", "Requested ranges not served this round because the neighbour's byte budget was spent."],
  heads_ignored_total: ["counter", "Origins in neighbours' heartbeats beyond the maxOrigins bound, ignored."],
  heads_taken_total: ["counter", "Heads taken from neighbours' heartbeats (all of a full one, the changed ones of a delta)."],
  heads_digest_mismatches_total: ["counter", "Heartbeats whose heads digest differed from the heads kept for their sender (its full heads are then asked for)."],
  heartbeats_idle_skipped_total: ["counter", "Heartbeats not sent to a neighbour that already has our unchanged heads (idleHeartbeatEvery)."],
  heads_requests_in_total: ["counter", "Requests for this replica's full heads received from neighbours."],
  repair_origins_examined_total: ["counter", "Origins gap repair looked at: only those a neighbour may be ahead on."],
  decode_errors_total: ["counter", "Messages rejected by the decoder."],
  receive_errors_total: ["counter", "Decoded messages refused whole (schema mismatch, SQLite error)."],
  send_errors_total: ["counter", "Sends that threw in the transport."],
  clock_drift_rejections_total: ["counter", "Remote timestamps too far ahead to follow."],
  peer_clock_drift_seconds: ["gauge", "Neighbour clock minus local clock, seconds, per peer."],
  peer_lag_patches: ["gauge", "Patches a neighbour holds that this replica lacks, per peer."],
  stale_origins: ["gauge", "Origins this replica cannot catch up with (needs re-seed)."],
  identity_conflicts_total: ["counter", "Signs of a second writer under this replica's peer id."],
  peers: ["gauge", "Linked neighbours."],
  sequence: ["gauge", "Last local sequence number."],
  merge_batch_duration_seconds: [
    "histogram",
    "Time to handle one received patches message that merged patches (decode, merge and commit, then relay), seconds.",
  ],
} as const;

export type MetricName = keyof typeof METRICS;

/** The slice of a registry that declaring needs (metrics.ts's Metrics; named here, so neither file imports the other's class). */
export interface MetricDeclarer {
  declare(name: MetricName, type: (typeof METRICS)[MetricName][0], help: string): void;
}

export function declareAll(m: MetricDeclarer): void {
  for (const [name, [type, help]] of Object.entries(METRICS)) m.declare(name as MetricName, type, help);
}
