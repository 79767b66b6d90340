// The audit trail's two MACs (HMAC-SHA256, RFC 2104), under keys only the bank has (rooms/audit.ts:
// derived from the master key the database was first opened with, kept sealed under the current one).
//
// - The WRITER MAC authenticates one event: the bank computes it over the event's fields and a random
//   nonce when it records the event, in the transaction that does what the event records. A row
//   inserted or altered by anyone without the key has none that checks.
// - The CHAIN MAC links each row to the one before (over the previous row's MAC and the row's fields
//   with its position): a row deleted, moved or swapped breaks the chain where it was. A store chains
//   (seals) a row only when its writer MAC checks, and stops at the first that does not: a forged row
//   is an alarm, never sealed into the history.
//
// What a database writer can still do is cut the newest rows off: the shorter chain is valid. The
// head (the last row's position and chain MAC) is published outside the database on every seal
// (rooms/audit.ts, `bank serve --audit-head-file`), and `bank audit verify --head ID:MAC` finds a
// trail shorter than, or different from, a head recorded earlier.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AuditHead, AuditKeys, EventRow, NewEvent } from "./store.js";

export type { AuditHead, AuditKeys };

export const AUDIT_CONTEXT = "otp-token audit v1";
export const WRITER_CONTEXT = "otp-token audit writer v1";
export const AUDIT_MAC_BYTES = 32;
export const AUDIT_NONCE_BYTES = 16;
const GENESIS = new Uint8Array(AUDIT_MAC_BYTES);

/** MAC of `row` chained to `previous` (the previous row's MAC, or null for the first row). */
export function chainMac(
  key: Uint8Array,
  previous: Uint8Array | null,
  row: Pick<EventRow, "id" | "at" | "kind" | "service_id" | "user_id" | "actor" | "detail">,
): Uint8Array {
  const fields = JSON.stringify([row.id, row.at, row.kind, row.service_id, row.user_id, row.actor, row.detail]);
  return new Uint8Array(
    createHmac("sha256", key)
      .update(AUDIT_CONTEXT)
      .update(previous ?? GENESIS)
      .update(fields, "utf8")
      .digest(),
  );
}

type WrittenFields = Pick<EventRow, "at" | "kind" | "service_id" | "user_id" | "actor" | "detail"> & { nonce: Uint8Array };

/** The writer MAC of an event: its fields and its nonce (not its position, which the store gives it later). */
export function writerMac(key: Uint8Array, event: WrittenFields): Uint8Array {
  const fields = JSON.stringify([
    Buffer.from(event.nonce).toString("hex"),
    event.at,
    event.kind,
    event.service_id,
    event.user_id,
    event.actor,
    event.detail,
  ]);
  return new Uint8Array(createHmac("sha256", key).update(WRITER_CONTEXT).update(fields, "utf8").digest());
}

/** Why a row's writer MAC does not check, or null when it does. */
export function writerProblem(key: Uint8Array, row: Pick<EventRow, "nonce" | "writer_mac"> & Omit<WrittenFields, "nonce">): string | null {
  if (row.writer_mac === null || row.nonce === null || row.writer_mac.length !== AUDIT_MAC_BYTES || row.nonce.length !== AUDIT_NONCE_BYTES)
    return "it has no writer MAC: it was not recorded by the bank (inserted, or its MAC removed)";
  const expected = writerMac(key, { ...row, nonce: row.nonce });
  return timingSafeEqual(expected, row.writer_mac)
    ? null
    : "its writer MAC does not match: it was not recorded by the bank as it stands (altered or forged)";
}

/** A new event with its nonce and writer MAC, as a room records it. */
export function signEvent(key: Uint8Array, fields: Omit<WrittenFields, "nonce">, nonce: Uint8Array): NewEvent {
  return { ...fields, nonce, writer_mac: writerMac(key, { ...fields, nonce }) };
}

export interface ChainReport {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** The last row that verified: its id and MAC (hex), to record elsewhere. */
  head: AuditHead | null;
  /** The first row that does not verify, and why ("queue": a queued row the sealer refuses; `alarm`: from the store's alarms). */
  firstBad?: { id: number; reason: string; table?: "events" | "queue"; alarm?: boolean };
}

/**
 * Walks rows in id order (from the first) and reports the first that breaks the chain or whose writer
 * MAC does not check. With `published`, a head recorded earlier, the trail must reach it and hold the
 * same MAC there.
 */
export async function verifyChain(keys: AuditKeys, pages: AsyncIterable<EventRow[]>, published?: AuditHead): Promise<ChainReport> {
  let previous: EventRow | null = null;
  let rows = 0;
  let publishedSeen = false;
  for await (const page of pages) {
    for (const row of page) {
      rows++;
      const bad = (reason: string): ChainReport => ({
        ok: false,
        rows,
        head: previous && { id: previous.id, mac: hex(previous.mac) },
        firstBad: { id: row.id, reason },
      });
      if (row.mac === null || row.mac.length !== AUDIT_MAC_BYTES) return bad("it has no chain MAC: it was never sealed into the trail");
      const expected = chainMac(keys.chain, previous?.mac ?? null, row);
      if (!timingSafeEqual(expected, row.mac)) {
        // Tell a gap (a deleted row) from an altered or inserted one, as far as the ids show it.
        if (previous !== null && row.id !== previous.id + 1) {
          return bad(
            `it does not follow row ${previous.id}: row${row.id - previous.id > 2 ? "s" : ""} ${previous.id + 1}${row.id - previous.id > 2 ? `-${row.id - 1}` : ""} deleted, or this row altered or inserted`,
          );
        }
        if (previous === null && row.id !== 1)
          return bad(`the trail starts at row ${row.id}: the rows before it were deleted, or this row was altered or inserted`);
        return bad("its MAC does not match: this row was altered, inserted or moved, or the row before it was deleted");
      }
      const writer = writerProblem(keys.writer, row);
      if (writer) return bad(writer);
      if (published && row.id === published.id) {
        if (hex(row.mac) !== published.mac.toLowerCase())
          return bad(`its MAC differs from the published head ${published.id}:${published.mac}: the trail up to it was rewritten`);
        publishedSeen = true;
      }
      previous = row;
    }
  }
  const head = previous && { id: previous.id, mac: hex(previous.mac) };
  if (published && !publishedSeen) {
    return {
      ok: false,
      rows,
      head,
      firstBad: {
        id: published.id,
        reason: `the trail ends at row ${head?.id ?? 0}, before the published head ${published.id}: its newest rows were deleted (truncated), or this is an older copy`,
      },
    };
  }
  return { ok: true, rows, head };
}

/** `ID:MAC` (as `bank audit verify` prints it) to a head; null when it is not of that form. */
export function parseHead(text: string): AuditHead | null {
  const match = /^\s*([0-9]{1,15}):([0-9a-fA-F]{64})\s*$/.exec(text);
  return match ? { id: Number(match[1]), mac: match[2].toLowerCase() } : null;
}

export const formatHead = (head: AuditHead) => `${head.id}:${head.mac}`;

export const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString("hex") : "");

/**
 * Legacy rows (written before writer MACs): the rows of `page`, in id order after `previous`, that the
 * chain vouches for get a nonce and a writer MAC. Stops at the first row whose chain MAC does not
 * check (`stopped`): that row and every later one stay without a writer MAC, an alarm at every
 * verification. `chainUnsealed` (a schema-1 database migrated in this very process, whose rows were
 * never chained) seals rows without a chain MAC first.
 */
export function vouchLegacy(
  keys: AuditKeys,
  previous: Uint8Array | null,
  page: EventRow[],
  random: (length: number) => Uint8Array,
  chainUnsealed: boolean,
): {
  updates: { id: number; mac: Uint8Array; nonce: Uint8Array; writer_mac: Uint8Array }[];
  previous: Uint8Array | null;
  stopped: boolean;
} {
  const updates: { id: number; mac: Uint8Array; nonce: Uint8Array; writer_mac: Uint8Array }[] = [];
  for (const row of page) {
    let mac = row.mac;
    if (mac === null && chainUnsealed) mac = chainMac(keys.chain, previous, row);
    if (mac === null || mac.length !== AUDIT_MAC_BYTES || !timingSafeEqual(chainMac(keys.chain, previous, row), mac)) {
      return { updates, previous, stopped: true };
    }
    const nonce = random(AUDIT_NONCE_BYTES);
    updates.push({ id: row.id, mac, nonce, writer_mac: writerMac(keys.writer, { ...row, nonce }) });
    previous = mac;
  }
  return { updates, previous, stopped: false };
}
