// The audit trail's chain: every event row carries an HMAC-SHA256 (RFC 2104) over the previous row's
// MAC and its own fields, keyed by a key derived from the bank's master key (crypto.ts, "audit chain").
// A row altered, deleted, inserted or moved breaks the chain at that row; without the master key no
// one can write a row that verifies, even with write access to the database. Truncating the newest
// rows leaves a valid shorter chain: `otp-token bank audit verify` prints the head (id and MAC) so it
// can be recorded elsewhere and compared later.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { EventRow } from "./store.js";

export const AUDIT_CONTEXT = "otp-token audit v1";
export const AUDIT_MAC_BYTES = 32;
const GENESIS = new Uint8Array(AUDIT_MAC_BYTES);

/** MAC of `row` chained to `previous` (the previous row's MAC, or null for the first row). */
export function chainMac(key: Uint8Array, previous: Uint8Array | null, row: Omit<EventRow, "mac">): Uint8Array {
  const fields = JSON.stringify([row.id, row.at, row.kind, row.service_id, row.user_id, row.actor, row.detail]);
  return new Uint8Array(
    createHmac("sha256", key)
      .update(AUDIT_CONTEXT)
      .update(previous ?? GENESIS)
      .update(fields, "utf8")
      .digest(),
  );
}

export interface ChainReport {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** The last row that verified: its id and MAC (hex), to record elsewhere. */
  head: { id: number; mac: string } | null;
  /** The first row that does not verify, and why. */
  firstBad?: { id: number; reason: string };
}

/** Walks rows in id order (from the first) and reports the first that breaks the chain. */
export async function verifyChain(key: Uint8Array, pages: AsyncIterable<EventRow[]>): Promise<ChainReport> {
  let previous: EventRow | null = null;
  let rows = 0;
  for await (const page of pages) {
    for (const row of page) {
      rows++;
      const bad = (reason: string): ChainReport => ({
        ok: false,
        rows,
        head: previous && { id: previous.id, mac: hex(previous.mac) },
        firstBad: { id: row.id, reason },
      });
      if (row.mac === null || row.mac.length !== AUDIT_MAC_BYTES) return bad("it has no MAC");
      const expected = chainMac(key, previous?.mac ?? null, row);
      if (!timingSafeEqual(expected, row.mac)) {
        // Tell a gap (a deleted row) from an altered or inserted one, as far as the ids show it.
        if (previous !== null && row.id !== previous.id + 1) {
          return bad(
            `it does not follow row ${previous.id}: row${row.id - previous.id > 2 ? "s" : ""} ${previous.id + 1}${row.id - previous.id > 2 ? `-${row.id - 1}` : ""} deleted, or this row altered or inserted`,
          );
        }
        if (previous === null && row.id !== 1)
          return bad(`the trail starts at row ${row.id}: the rows before it were deleted, or this row was altered or inserted`);
        return bad("its MAC does not match: this row was altered or inserted, or the row before it was deleted");
      }
      previous = row;
    }
  }
  return { ok: true, rows, head: previous && { id: previous.id, mac: hex(previous.mac) } };
}

const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString("hex") : "");
