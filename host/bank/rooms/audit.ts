// The audit room: the writer every other room records events through (each event signed with the
// bank's writer MAC, in the transaction that does what it records), the trail read back and verified
// (both MACs, the store's alarms, a published head), and the head published outside the database.
// Reached by GET /v1/audit, `bank audit list|verify`, and every room that changes state.
import { timingSafeEqual } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { AuditArchiveError, archivedRows, archiveEnd, archivePages, SEGMENT_ROWS, sameRow, writeSegment } from "../archive.js";
import {
  ARCHIVE_RECORD_ALTERED,
  type ArchiveCut,
  AUDIT_NONCE_BYTES,
  archivedProblem,
  type ChainReport,
  chainMac,
  formatHead,
  formatHeads,
  openArchiveCut,
  placeOf,
  sealArchiveCut,
  signEvent,
  verifyChain,
  writerProblem,
} from "../audit.js";
import { aad, type MasterKey } from "../crypto.js";
import type { AuditAlarm, AuditHead, AuditKeys, BankStore, EventRow, StoreTx } from "../store.js";
import type { AuditEvent, AuditWriter, BankContext } from "./shared.js";

/** Where the chain's head is published, outside the database its writer could rewrite. */
export interface AuditHeadTargets {
  /** One line per seal (and per alarm): `bank serve` gives its log. */
  log?: (line: string) => void;
  /** A file rewritten after each seal (atomically, mode 0600): `ID:MAC`, or one line per partition (`PART:ID:MAC` for PART > 0). */
  file?: string;
}

/** The report of `verify`: the chain walk, and the alarms the store sees outside it. */
export interface AuditReport extends ChainReport {
  alarms: AuditAlarm[];
}

/** What `archive` moved: rows, the segment files written, the last global id archived (null: none). */
export interface ArchiveResult {
  rows: number;
  segments: string[];
  through: number | null;
}

/**
 * Seconds before the bank's clock within which no row is archived: a transaction still in flight may
 * have recorded its event that early, and must not then be taken for a copy of an archived one
 * (clocks of the instances agree to well within it).
 */
export const ARCHIVE_SETTLE_SECONDS = 300;

/** Milliseconds after an append before the head is published (SQLite, which seals as it appends). */
const PUBLISH_DELAY_MS = 1000;

/**
 * The trail's keys, sealed under the master key in the store (`audit-keys`). A database that has none
 * yet gets the keys derived from this master key (the chain key is the one every earlier trail was
 * chained with); `bank rekey` re-seals them under a new master key without touching a row.
 */
export async function openAuditKeys(store: BankStore, masterKey: MasterKey): Promise<AuditKeys> {
  const fresh = Buffer.concat([masterKey.deriveKey("audit chain v1"), masterKey.deriveKey("audit writer v1")]);
  const stored = await store.transaction((tx) => tx.initMeta("audit-keys", masterKey.seal(fresh, aad.auditKeys())));
  fresh.fill(0);
  const keys = masterKey.open(stored, aad.auditKeys());
  return { chain: keys.slice(0, 32), writer: keys.slice(32, 64) };
}

export class AuditTrail implements AuditWriter {
  #published: string | null = null;
  /** The newest head of each partition this instance knows of (a partitioned trail: PostgreSQL's sealers). */
  readonly #heads = new Map<number, AuditHead>();
  #timer: NodeJS.Timeout | null = null;
  /** The store reports its seals (PostgreSQL's sealer): no publishing after appends is needed. */
  #sealsReported = false;

  constructor(
    private readonly ctx: Pick<BankContext, "store" | "now" | "random" | "actor">,
    private readonly keys: AuditKeys,
    private readonly targets: AuditHeadTargets = {},
  ) {}

  append(
    tx: StoreTx,
    at: number,
    kind: string,
    serviceId: string | null,
    userId: string | null,
    actor: string,
    detail?: string,
  ): Promise<void> {
    const fields = { at, kind, service_id: serviceId, user_id: userId, actor, detail: detail ?? null };
    this.schedulePublish();
    return tx.appendEvent(signEvent(this.keys.writer, fields, this.ctx.random(AUDIT_NONCE_BYTES)));
  }

  /** Events after `afterId`, oldest first. */
  async events(afterId = 0, limit = 100): Promise<AuditEvent[]> {
    return (await this.ctx.store.events(afterId, limit)).map(auditEvent);
  }

  /** The newest `limit` events about one User ID. */
  async eventsOf(userId: string, limit: number): Promise<AuditEvent[]> {
    return (await this.ctx.store.eventsOf(userId, limit)).map(auditEvent);
  }

  /**
   * Walks the whole trail (host/bank/audit.ts: both MACs of every row), then asks the store for what
   * the walk cannot see (queued rows the sealer refuses, repeated events). With `published`, a head
   * recorded earlier, a trail that does not reach it, or differs there, fails. With `archiveDir`, the
   * archived segments (host/bank/archive.ts) come first and the database continues them: a database row
   * after the archive recorded at or before its newest event is a copy of an archived one, and a row
   * still in the database at or below the archive's last id must be that archived row itself.
   */
  async verify(pageSize = 1000, published?: AuditHead | AuditHead[], archiveDir?: string): Promise<AuditReport> {
    const store = this.ctx.store;
    const recorded = openArchiveCut(this.keys.chain, await store.getSetting("audit_archived"));
    // Without the archive, the database's own record of what left it; with it, what the walk finds there.
    const cut: ArchiveCut = recorded !== null && recorded !== "altered" && archiveDir === undefined ? recorded : { through: 0, floor: -1 };
    const end = archiveDir === undefined ? null : archiveEnd(archiveDir);
    const left = end === null ? [] : await rowsThrough(store, end.last, pageSize);
    const kept =
      archiveDir === undefined || left.length === 0
        ? new Map<number, EventRow>()
        : archivedRows(
            archiveDir,
            left.map((r) => r.id),
          );
    async function* pages(): AsyncIterable<EventRow[]> {
      let after = 0;
      if (archiveDir !== undefined)
        for await (const page of archivePages(archiveDir)) {
          if (page.length === 0) continue;
          after = page[page.length - 1].id;
          cut.through = after;
          for (const row of page) cut.floor = Math.max(cut.floor, row.at);
          yield page;
        }
      // PostgreSQL: one snapshot, every row (also one with an id its sequence never gave out).
      if (store.trail) {
        yield* store.trail(pageSize, after);
        return;
      }
      for (;;) {
        const page = await store.events(after, pageSize);
        if (page.length === 0) return;
        yield page;
        after = page[page.length - 1].id;
      }
    }
    const report = await verifyChain(this.keys, pages(), published, cut);
    const alarms = await store.auditAlarms();
    if (report.ok && recorded === "altered") alarms.unshift({ table: "events", id: 0, reason: ARCHIVE_RECORD_ALTERED });
    // Rows the database still holds at or below the archive's end: only the archived rows themselves (a prune cut short).
    const stray = left.find((row) => !(kept.has(row.id) && sameRow(kept.get(row.id)!, row)));
    if (report.ok && stray)
      alarms.unshift({
        table: "events",
        id: stray.id,
        reason: `it is in the database at or below the archive's last row ${end!.last}, but ${kept.has(stray.id) ? "differs from the archived row" : "is not in the archive"}: inserted or copied back`,
      });
    if (report.ok && alarms.length > 0) {
      const [first] = alarms;
      return {
        ...report,
        ok: false,
        firstBad: { id: first.id, reason: first.reason, table: first.table, alarm: true },
        alarms,
      };
    }
    return { ...report, alarms };
  }

  /**
   * Audit retention: moves sealed rows recorded before `before` (seconds; and at least `settleSeconds`
   * before the bank's clock, so no transaction still in flight recorded its event as early) out of the
   * database into segment files in `dir` (host/bank/archive.ts), records the cut in the database (the
   * setting audit_archived, MAC'd), then deletes the rows from the database. What goes is a prefix of
   * the trail in global id order (every partition's rows, interleaved) that continues the archive, cut
   * where time separates it from the rest: every archived row was recorded before every row that stays
   * or is still queued, so a row recorded at or before the newest archived one is later known for a
   * copy (audit.ts ArchiveCut). The trail's newest row always stays (SQLite chains on from it).
   */
  async archive(dir: string, before: number, settleSeconds = ARCHIVE_SETTLE_SECONDS): Promise<ArchiveResult> {
    const store = this.ctx.store;
    const end = archiveEnd(dir);
    const states = end?.states ?? new Map<number, { pos: number; mac: Uint8Array }>();
    let through = end?.last ?? 0;
    let floor = end?.floor ?? Number.NEGATIVE_INFINITY;
    const cutoff = Math.min(before, this.ctx.now() - settleSeconds);
    // A prune cut short (the process stopped after writing a segment): finish it, if the rows are the archived ones.
    const left = await rowsThrough(store, through, SEGMENT_ROWS);
    if (left.length > 0) {
      const kept = archivedRows(
        dir,
        left.map((r) => r.id),
      );
      const stray = left.find((row) => !(kept.has(row.id) && sameRow(kept.get(row.id)!, row)));
      if (stray)
        throw new AuditArchiveError(
          `row ${stray.id} of the database is at or below the last row of the archive in ${dir} (${through}) but is not the archived row: not this database's archive, or the row was inserted ('bank audit verify --archive' names it)`,
        );
      await store.pruneEvents(through);
    }
    // Pass 1: the rows that may go (sealed, chained on from the archive, recorded before the cut-off), by time.
    const ids: number[] = [];
    const ats: number[] = [];
    const walk = new Map(states);
    let newest = true;
    for (let after = through; ; ) {
      const page = await store.events(after, SEGMENT_ROWS);
      let stopped = false;
      for (const row of page) {
        const problem = this.rowProblem(walk, row, { through, floor });
        // Never archive past a row that does not verify: the operator hears of it ('bank audit verify --archive').
        if (problem !== null)
          throw new AuditArchiveError(
            ids.length === 0
              ? `row ${row.id} does not continue the archive in ${dir} (${problem}): not this database's archive, or the trail is broken there; nothing archived`
              : `row ${row.id} does not verify (${problem}); nothing archived: run 'bank audit verify --archive ${dir}'`,
          );
        if (row.at >= cutoff) {
          stopped = true;
          newest = false;
          break;
        }
        walk.set(placeOf(row).part, { pos: placeOf(row).pos, mac: row.mac! });
        ids.push(row.id);
        ats.push(row.at);
      }
      if (stopped || page.length < SEGMENT_ROWS) break;
      after = page[page.length - 1].id;
    }
    // The trail's newest row stays.
    if (newest && ids.length > 0) {
      ids.pop();
      ats.pop();
    }
    if (ids.length === 0) return { rows: 0, segments: [], through: null };
    // Cut where every row before it was recorded before every row after it (those left and those queued).
    let later = (await store.auditOldest(ids[ids.length - 1])) ?? Number.POSITIVE_INFINITY;
    const laterFrom: number[] = new Array(ids.length + 1);
    laterFrom[ids.length] = later;
    for (let i = ids.length - 1; i >= 0; i--) laterFrom[i] = later = Math.min(later, ats[i]);
    let count = 0;
    for (let k = 1, max = Number.NEGATIVE_INFINITY; k <= ids.length; k++) {
      max = Math.max(max, ats[k - 1]);
      if (max < laterFrom[k]) count = k;
    }
    if (count === 0) return { rows: 0, segments: [], through: null };
    const last = ids[count - 1];
    // Pass 2: the segments.
    const segments: string[] = [];
    let rows = 0;
    for (let after = through; after < last; ) {
      const page = (await store.events(after, SEGMENT_ROWS)).filter((r) => r.id <= last);
      if (page.length === 0) break;
      for (const row of page) floor = Math.max(floor, row.at);
      segments.push(writeSegment(dir, page, states, floor));
      rows += page.length;
      after = page[page.length - 1].id;
    }
    through = last;
    // The cut, kept in the database before the rows leave it (never lowered).
    const cut = { through, floor };
    await store.transaction(async (tx) => {
      const now = openArchiveCut(this.keys.chain, await tx.getSetting("audit_archived"));
      const kept = now === null || now === "altered" ? cut : { through: Math.max(now.through, through), floor: Math.max(now.floor, floor) };
      await tx.setSetting("audit_archived", sealArchiveCut(this.keys.chain, kept));
    });
    await store.pruneEvents(through);
    return { rows, segments, through };
  }

  /** Why `row` cannot be archived after the chain states `walk`: not sealed, not chained on, not the bank's, or a copy. */
  private rowProblem(walk: Map<number, { pos: number; mac: Uint8Array }>, row: EventRow, cut: ArchiveCut): string | null {
    if (row.mac === null) return "it is not sealed";
    const copy = archivedProblem(cut, row);
    if (copy) return copy;
    const expected = chainMac(this.keys.chain, walk.get(placeOf(row).part)?.mac ?? null, row);
    if (!timingSafeEqual(expected, row.mac)) return "its chain MAC does not follow the archive's (or the previous row's)";
    return writerProblem(this.keys.writer, row);
  }

  /** Appends one event (for actions outside the bank's own methods, such as a PSKC export by the CLI). */
  async record(kind: string, userId: string | null, detail: string, by = this.ctx.actor): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.store.transaction((tx) => this.append(tx, now, kind, null, userId, by, detail));
  }

  /** A seal moved the head (PostgreSQL's sealer): log it and publish it. */
  sealed(head: AuditHead, rows: number): void {
    this.#sealsReported = true;
    this.targets.log?.(`audit sealed ${rows} row${rows === 1 ? "" : "s"}, head ${formatHead(head)}`);
    this.#heads.set(head.part ?? 0, head);
    this.write();
  }

  /** The sealer refused a row: an alarm for the operator. */
  alarm(alarm: AuditAlarm): void {
    this.targets.log?.(
      `AUDIT ALARM: ${alarm.table === "queue" ? "queued row" : "row"} ${alarm.id}: ${alarm.reason}; the sealer will not seal past it`,
    );
  }

  /** Publishes the head now (and at shutdown): the log line and the file, when it moved since the last. */
  async publishHead(): Promise<AuditHead | null> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const store = this.ctx.store;
    const heads = store.auditHeads ? await store.auditHeads() : [await store.auditHead()].filter((h) => h !== null);
    for (const head of heads) this.#heads.set(head.part ?? 0, head);
    if (heads.length > 0 && formatHeads(heads) !== this.#published) {
      this.targets.log?.(`audit head ${heads.map(formatHead).join(" ")}`);
      this.write();
    }
    return heads.find((h) => (h.part ?? 0) === 0) ?? null;
  }

  private schedulePublish(): void {
    if (this.#timer || this.#sealsReported || (!this.targets.log && !this.targets.file)) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.publishHead().catch((error) => this.targets.log?.(`audit head not published: ${(error as Error).message}`));
    }, PUBLISH_DELAY_MS);
    this.#timer.unref();
  }

  /** Writes every partition head known (one line each; partition 0's alone for a trail of one partition). */
  private write(): void {
    const heads = [...this.#heads.values()].sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
    this.#published = formatHeads(heads);
    const file = this.targets.file;
    if (file === undefined) return;
    const partial = `${file}.partial`;
    try {
      writeFileSync(partial, this.#published, { mode: 0o600 });
      renameSync(partial, file);
    } catch (error) {
      this.targets.log?.(`audit head not written to ${file}: ${(error as Error).message}`);
    }
  }
}

/** The database's rows with global id <= `through` (none, but after a prune cut short). */
async function rowsThrough(store: BankStore, through: number, pageSize: number): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  for (let after = 0; through > 0; ) {
    const page = (await store.events(after, pageSize)).filter((r) => r.id <= through);
    rows.push(...page);
    if (page.length < pageSize) break;
    after = page[page.length - 1].id;
  }
  return rows;
}

function auditEvent(e: EventRow): AuditEvent {
  return { id: e.id, at: e.at, kind: e.kind, serviceId: e.service_id, userId: e.user_id, actor: e.actor, detail: e.detail };
}
