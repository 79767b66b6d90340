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

/** A row's partition (0 for every row of SQLite and of a trail sealed before partitions) and its position in it. */
export function placeOf(row: Pick<EventRow, "id" | "part" | "pos">): { part: number; pos: number } {
  return { part: row.part ?? 0, pos: row.pos ?? row.id };
}

/**
 * MAC of `row` chained to `previous` (the previous row's MAC in its partition, or null for the
 * partition's first row). A row of partition 0 whose position is its id (every row of SQLite, and of
 * a trail chained before partitions) has the original form, over its id; any other row's MAC also
 * covers its partition and its position there, besides its global id, so a row moved to another
 * partition or renumbered no longer checks.
 */
export function chainMac(
  key: Uint8Array,
  previous: Uint8Array | null,
  row: Pick<EventRow, "id" | "at" | "kind" | "service_id" | "user_id" | "actor" | "detail" | "part" | "pos">,
): Uint8Array {
  const { part, pos } = placeOf(row);
  const place = part === 0 && pos === row.id ? [row.id] : ["partition", part, pos, row.id];
  const fields = JSON.stringify([...place, row.at, row.kind, row.service_id, row.user_id, row.actor, row.detail]);
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
  /** The last row that verified (of the partition of the last row walked): its position and MAC (hex), to record elsewhere. */
  head: AuditHead | null;
  /** Every partition's head, by partition (one for SQLite and a one-partition trail). */
  heads?: AuditHead[];
  /**
   * The first row that does not verify, and why ("queue": a queued row the sealer refuses; `alarm`: from
   * the store's alarms; `behind`: the published head the trail ends before, an older copy or a truncation).
   */
  firstBad?: { id: number; reason: string; table?: "events" | "queue"; alarm?: boolean; behind?: AuditHead };
}

/**
 * What left the database for the archive (audit retention, host/bank/archive.ts): every row up to
 * global id `through`, each recorded at or before `floor` (unix seconds), while every row left in the
 * database and the queue was recorded after it. A row past `through` recorded at or before `floor`
 * can only be a copy of an archived event (its nonce's original left with the archive): refused.
 */
export interface ArchiveCut {
  through: number;
  floor: number;
}

export const ARCHIVE_CONTEXT = "otp-token audit archive v1";

/** Why a row is refused as a copy of an archived event, or null. */
export function archivedProblem(cut: ArchiveCut | null | undefined, row: Pick<EventRow, "id" | "at">, queued = false): string | null {
  if (!cut || (!queued && row.id <= cut.through) || row.at > cut.floor) return null;
  return `it was recorded at ${row.at}, at or before the newest archived event (${cut.floor}), yet ${queued ? "is queued" : `follows the archive (rows through ${cut.through})`}: a copy of an archived event, whose nonce left the database with it`;
}

/** The archive record the database keeps (setting audit_archived): the cut, MAC'd under the chain key so a writer cannot lower it. */
export function sealArchiveCut(key: Uint8Array, cut: ArchiveCut): string {
  const body = JSON.stringify({ through: cut.through, floor: cut.floor });
  return JSON.stringify({ through: cut.through, floor: cut.floor, mac: hex(archiveMac(key, body)) });
}

/** The cut an archive record holds; null for none; "altered" when its MAC does not check. */
export function openArchiveCut(key: Uint8Array, text: string | null): ArchiveCut | null | "altered" {
  if (text === null) return null;
  try {
    const record = JSON.parse(text) as { through: unknown; floor: unknown; mac: unknown };
    if (typeof record.through !== "number" || typeof record.floor !== "number" || typeof record.mac !== "string") return "altered";
    const expected = archiveMac(key, JSON.stringify({ through: record.through, floor: record.floor }));
    const given = Buffer.from(record.mac, "hex");
    if (given.length !== AUDIT_MAC_BYTES || !timingSafeEqual(expected, given)) return "altered";
    return { through: record.through, floor: record.floor };
  } catch {
    return "altered";
  }
}

export const ARCHIVE_RECORD_ALTERED =
  "the archive record in the database (setting audit_archived) does not check: it was altered, so copies of archived events cannot be told; nothing is sealed until it is restored";

function archiveMac(key: Uint8Array, body: string): Buffer {
  return createHmac("sha256", key).update(ARCHIVE_CONTEXT).update(body, "utf8").digest();
}

/**
 * Walks rows in global id order (from the first) and checks each partition's chain on its own (a
 * trail of one partition is the original chain) and how the partitions interleave: global ids strictly
 * increase, each partition's positions run 1, 2, ... in that order. Reports the first row that breaks
 * a chain or whose writer MAC does not check. With `published`, heads recorded earlier (one per
 * partition, or fewer), the trail must reach each and hold the same MAC there.
 */
export async function verifyChain(
  keys: AuditKeys,
  pages: AsyncIterable<EventRow[]>,
  published?: AuditHead | AuditHead[],
  cut?: ArchiveCut | null,
): Promise<ChainReport> {
  const wanted = published === undefined ? [] : Array.isArray(published) ? published : [published];
  const last = new Map<number, { pos: number; mac: Uint8Array }>();
  let lastId = 0;
  let lastPart = 0;
  let rows = 0;
  const seen = new Set<AuditHead>();
  const heads = (): AuditHead[] => [...last.entries()].sort(([a], [b]) => a - b).map(([part, h]) => headOf(part, h.pos, h.mac));
  const headNow = () => {
    const h = last.get(lastPart);
    return h ? headOf(lastPart, h.pos, h.mac) : null;
  };
  for await (const page of pages) {
    for (const row of page) {
      rows++;
      const { part, pos } = placeOf(row);
      const previous = last.get(part) ?? null;
      const bad = (reason: string): ChainReport => ({ ok: false, rows, head: headNow(), heads: heads(), firstBad: { id: row.id, reason } });
      const where = part === 0 ? "row" : `row ${pos} of partition ${part}:`;
      if (rows > 1 && row.id <= lastId)
        return bad(`its id does not follow row ${lastId}: the partitions' rows were reordered, or this row was inserted or copied`);
      const copy = archivedProblem(cut, row);
      if (copy) return bad(copy);
      if (row.mac === null || row.mac.length !== AUDIT_MAC_BYTES) return bad("it has no chain MAC: it was never sealed into the trail");
      const expected = chainMac(keys.chain, previous?.mac ?? null, row);
      if (!timingSafeEqual(expected, row.mac)) {
        // Tell a gap (a deleted row) from an altered or inserted one, as far as the positions show it.
        const at = previous?.pos ?? 0;
        if (previous !== null && pos > at + 1) {
          const part_ = part === 0 ? "" : ` of partition ${part}`;
          return bad(
            `it does not follow row ${at}${part_}: row${pos - at > 2 ? "s" : ""} ${at + 1}${pos - at > 2 ? `-${pos - 1}` : ""}${part_} deleted, or this row altered or inserted`,
          );
        }
        if (previous === null && pos !== 1)
          return bad(
            `the ${part === 0 ? "trail" : `partition ${part}`} starts at row ${pos}: the rows before it were deleted, or this row was altered or inserted`,
          );
        return bad(
          `its MAC does not match: this ${part === 0 ? "row" : where} was altered, inserted or moved (to another partition or position), or the row before it was deleted`,
        );
      }
      const writer = writerProblem(keys.writer, row);
      if (writer) return bad(writer);
      for (const head of wanted) {
        if ((head.part ?? 0) !== part || head.id !== pos) continue;
        if (hex(row.mac) !== head.mac.toLowerCase())
          return bad(`its MAC differs from the published head ${formatHead(head)}: the trail up to it was rewritten`);
        seen.add(head);
      }
      last.set(part, { pos, mac: row.mac });
      lastId = row.id;
      lastPart = part;
    }
  }
  const missing = wanted.find((head) => !seen.has(head));
  if (missing) {
    const part = missing.part ?? 0;
    const ends = last.get(part)?.pos ?? 0;
    const of = part === 0 ? "" : ` of partition ${part}`;
    return {
      ok: false,
      rows,
      head: headNow(),
      heads: heads(),
      firstBad: {
        id: missing.id,
        reason: `the trail${of} ends at row ${ends}, before the published head ${formatHead(missing)}: its newest rows were deleted (truncated), or this is an older copy`,
        behind: missing,
      },
    };
  }
  return { ok: true, rows, head: headNow(), heads: heads() };
}

function headOf(part: number, pos: number, mac: Uint8Array): AuditHead {
  return part === 0 ? { id: pos, mac: hex(mac) } : { part, id: pos, mac: hex(mac) };
}

/**
 * `ID:MAC` (as `bank audit verify` prints it; partition 0) or `PART:ID:MAC` (a row of partition PART)
 * to a head; null when it is not of that form.
 */
export function parseHead(text: string): AuditHead | null {
  const match = /^\s*(?:([0-9]{1,6}):)?([0-9]{1,15}):([0-9a-fA-F]{64})\s*$/.exec(text);
  if (!match) return null;
  const part = match[1] === undefined ? 0 : Number(match[1]);
  const id = Number(match[2]);
  const mac = match[3].toLowerCase();
  return part === 0 ? { id, mac } : { part, id, mac };
}

/** Heads, one per line or separated by commas or spaces (a head file of a partitioned trail); null when one is not a head. */
export function parseHeads(text: string): AuditHead[] | null {
  const heads = text
    .split(/[\s,]+/)
    .filter((t) => t !== "")
    .map(parseHead);
  return heads.length > 0 && heads.every((h) => h !== null) ? (heads as AuditHead[]) : null;
}

export const formatHead = (head: AuditHead) => (head.part ? `${head.part}:${head.id}:${head.mac}` : `${head.id}:${head.mac}`);

/** Heads as a head file holds them: one line each. */
export const formatHeads = (heads: AuditHead[]) => heads.map((h) => `${formatHead(h)}\n`).join("");

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
