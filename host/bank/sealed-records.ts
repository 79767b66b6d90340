// Where the sealed secrets are, for `bank rekey` (rooms/rekey.ts): one query per kind of sealed
// record, the same columns each, and the row as a SealedRecord. Both stores read them (PostgreSQL
// with its rows locked); each store re-seals with its own UPDATEs.
import type { SealedRecord } from "./store.js";

const SEALED_SELECTS = [
  ["SELECT 'seed' AS kind, service_id, user_id, serial, NULL AS issue_id, NULL AS sid, NULL AS name, seed AS value FROM tokens", ""],
  [
    "SELECT 'activation-password' AS kind, service_id, user_id, NULL AS serial, issue_id, NULL AS sid, NULL AS name, activation_key AS value FROM issues WHERE activation_key IS NOT NULL",
    "",
  ],
  [
    "SELECT 'pending-seed' AS kind, service_id, user_id, pending_serial AS serial, issue_id, NULL AS sid, NULL AS name, pending_seed AS value FROM issues WHERE pending_seed IS NOT NULL",
    "",
  ],
  [
    "SELECT 'activation-session' AS kind, i.service_id, i.user_id, s.serial, s.issue_id, s.sid, NULL AS name, s.secrets AS value FROM activation_sessions s JOIN issues i ON i.issue_id = s.issue_id WHERE s.secrets IS NOT NULL",
    " OF s",
  ],
  [
    "SELECT 'meta' AS kind, NULL AS service_id, NULL AS user_id, NULL AS serial, NULL AS issue_id, NULL AS sid, name, value FROM meta WHERE name IN ('audit-keys', 'master-key-check')",
    "",
  ],
] as const;

/** The queries; `locked` (PostgreSQL): each row read FOR UPDATE until the rekey commits. */
export function sealedQueries(locked: boolean): string[] {
  return SEALED_SELECTS.map(([sql, of]) => (locked ? `${sql} FOR UPDATE${of}` : sql));
}

export interface SealedRow {
  kind: SealedRecord["kind"];
  service_id: string | null;
  user_id: string | null;
  serial: string | null;
  issue_id: string | number | null;
  sid: Uint8Array | null;
  name: string | null;
  value: Uint8Array;
}

export function sealedRecord(row: SealedRow): SealedRecord {
  return {
    kind: row.kind,
    serviceId: row.service_id,
    userId: row.user_id,
    serial: row.serial,
    issueId: row.issue_id === null ? null : Number(row.issue_id),
    sid: row.sid === null ? null : new Uint8Array(row.sid),
    name: row.name,
    value: new Uint8Array(row.value),
  };
}
