// The audit room: every event the other rooms record (through `append`, inside the transaction that
// does what it records), the trail read back, and its hash chain checked (host/bank/audit.ts).
// Reached by GET /v1/audit, `bank audit list|verify`, and every room that changes state.
import { type ChainReport, verifyChain } from "../audit.js";
import type { EventRow, StoreTx } from "../store.js";
import type { AuditEvent, AuditWriter, BankContext } from "./shared.js";

export class AuditTrail implements AuditWriter {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "now" | "actor">,
    /** HKDF(master key, "audit chain v1"): the chain's MAC key. */
    private readonly key: Uint8Array,
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
    return tx.appendEvent({ at, kind, service_id: serviceId, user_id: userId, actor, detail: detail ?? null });
  }

  /** Events after `afterId`, oldest first. */
  async events(afterId = 0, limit = 100): Promise<AuditEvent[]> {
    return (await this.ctx.store.events(afterId, limit)).map(auditEvent);
  }

  /** The newest `limit` events about one User ID. */
  async eventsOf(userId: string, limit: number): Promise<AuditEvent[]> {
    return (await this.ctx.store.eventsOf(userId, limit)).map(auditEvent);
  }

  /** Walks the whole trail and reports the first row that breaks the chain (host/bank/audit.ts). */
  async verify(pageSize = 1000): Promise<ChainReport> {
    const store = this.ctx.store;
    async function* pages(): AsyncIterable<EventRow[]> {
      let after = 0;
      for (;;) {
        const page = await store.events(after, pageSize);
        if (page.length === 0) return;
        yield page;
        after = page[page.length - 1].id;
      }
    }
    return verifyChain(this.key, pages());
  }

  /** Appends one event (for actions outside the bank's own methods, such as a PSKC export by the CLI). */
  async record(kind: string, userId: string | null, detail: string, by = this.ctx.actor): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.store.transaction((tx) => this.append(tx, now, kind, null, userId, by, detail));
  }
}

function auditEvent(e: EventRow): AuditEvent {
  return { id: e.id, at: e.at, kind: e.kind, serviceId: e.service_id, userId: e.user_id, actor: e.actor, detail: e.detail };
}
