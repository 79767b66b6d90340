// The audit room: the writer every other room records events through (each event signed with the
// bank's writer MAC, in the transaction that does what it records), the trail read back and verified
// (both MACs, the store's alarms, a published head), and the head published outside the database.
// Reached by GET /v1/audit, `bank audit list|verify`, and every room that changes state.
import { renameSync, writeFileSync } from "node:fs";
import { archiveEnd, archivePages, SEGMENT_ROWS, writeSegment } from "../archive.js";
import { AUDIT_NONCE_BYTES, type ChainReport, formatHead, formatHeads, placeOf, signEvent, verifyChain } from "../audit.js";
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
   * recorded earlier, a trail that does not reach it, or differs there, fails.
   */
  async verify(pageSize = 1000, published?: AuditHead | AuditHead[], archiveDir?: string): Promise<AuditReport> {
    const store = this.ctx.store;
    async function* pages(): AsyncIterable<EventRow[]> {
      // The archive first (audit retention, host/bank/archive.ts), then the database from where it ends.
      let after = 0;
      if (archiveDir !== undefined)
        for await (const page of archivePages(archiveDir)) {
          yield page;
          if (page.length > 0) after = page[page.length - 1].id;
        }
      if (after === 0 && store.trail) {
        yield* store.trail(pageSize);
        return;
      }
      for (;;) {
        const page = await store.events(after, pageSize);
        if (page.length === 0) return;
        yield page;
        after = page[page.length - 1].id;
      }
    }
    const report = await verifyChain(this.keys, pages(), published);
    const alarms = await store.auditAlarms();
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
   * Audit retention: moves the sealed rows recorded before `before` (seconds) out of the database into
   * segment files in `dir` (host/bank/archive.ts), then deletes them from the database. The rows
   * must continue the archive (the first row of the database follows its last); the newest sealed
   * row always stays (the chain goes on from it).
   */
  async archive(dir: string, before: number): Promise<{ rows: number; segments: string[]; through: number | null }> {
    const store = this.ctx.store;
    const end = archiveEnd(dir);
    const head = await store.auditHead();
    // One chain only (a segment ends on one chain state): a partitioned trail is not archived yet.
    if ((await store.auditHeads?.())?.some((h) => (h.part ?? 0) !== 0))
      throw new Error("the trail is sealed in more than one partition: archiving it is not supported yet");
    const segments: string[] = [];
    let previous: Uint8Array | null = end?.mac ?? null;
    let after = end?.id ?? 0;
    let position = after;
    let rows = 0;
    const first = (await store.events(0, 1))[0];
    if (first && placeOf(first).pos !== after + 1 && placeOf(first).pos > after)
      throw new Error(
        `the database's trail starts at row ${placeOf(first).pos}, but the archive in ${dir} ends at row ${after}: not its archive`,
      );
    for (;;) {
      const page = (await store.events(after, SEGMENT_ROWS)).filter(
        (r) => r.at < before && r.mac !== null && head !== null && placeOf(r).pos < head.id,
      );
      // Only a run from the start of what is left: stop at the first row too new to archive (positions
      // run 1, 2, ...; global ids may skip, PostgreSQL's sequence).
      const run: EventRow[] = [];
      for (const row of page) {
        if (placeOf(row).pos !== position + run.length + 1) break;
        run.push(row);
      }
      if (run.length === 0) break;
      segments.push(writeSegment(dir, run, previous));
      previous = run[run.length - 1].mac;
      after = run[run.length - 1].id;
      position += run.length;
      rows += run.length;
      if (run.length < SEGMENT_ROWS) break;
    }
    if (rows > 0) await store.pruneEvents(after);
    return { rows, segments, through: rows > 0 ? after : null };
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

function auditEvent(e: EventRow): AuditEvent {
  return { id: e.id, at: e.at, kind: e.kind, serviceId: e.service_id, userId: e.user_id, actor: e.actor, detail: e.detail };
}
