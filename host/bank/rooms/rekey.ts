// Master-key rotation (`bank rekey`, issue 19 item 6): every secret sealed under the master key — each
// token's seed, each pending issue's activation password and pending seed, each activation session's
// secrets, the audit trail's keys and the master-key check value — opened with the old key and sealed
// under the new one, with the same AAD (its row), in ONE store transaction that also records a
// "rekey" event. Either all of them are under the new key or none: a failure (a record the old key
// cannot open, the database lost mid-way) rolls everything back. The audit keys themselves do not
// change (only their seal), so the chain written before verifies with the one after.
import { aad, type MasterKey } from "../crypto.js";
import { BankError } from "../errors.js";
import type { SealedRecord } from "../store.js";
import type { AuditWriter, BankContext } from "./shared.js";

/** How many secrets of each kind were re-sealed. */
export type RekeyReport = Record<SealedRecord["kind"], number>;

/** The AAD a sealed record was sealed for (host/bank/crypto.ts, `aad`). */
export function aadOf(record: SealedRecord): string {
  const need = (value: string | null): string => {
    if (value === null) throw new Error(`the ${record.kind} record has no row identity`);
    return value;
  };
  switch (record.kind) {
    case "seed":
      return aad.seed(need(record.serviceId), need(record.userId), need(record.serial));
    case "activation-password":
      return aad.activationPassword(need(record.serviceId), need(record.userId));
    case "pending-seed":
      return aad.pendingSeed(need(record.serviceId), need(record.userId), need(record.serial));
    case "activation-session":
      if (record.sid === null) throw new Error("an activation session record has no sid");
      return aad.activationSession(need(record.serviceId), need(record.userId), need(record.serial), record.sid);
    case "meta":
      if (record.name === "audit-keys") return aad.auditKeys();
      if (record.name === "master-key-check") return aad.keyCheck();
      throw new Error(`no sealed meta value is named ${record.name}`);
  }
}

export class Rekey {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "now" | "actor">,
    private readonly audit: AuditWriter,
  ) {}

  /** Re-seals every secret under `newKey` in one transaction with a "rekey" event; the counts. */
  async rekey(newKey: MasterKey, by = this.ctx.actor): Promise<RekeyReport> {
    const now = this.ctx.now();
    return this.ctx.store.transaction(async (tx) => {
      const report: RekeyReport = { seed: 0, "activation-password": 0, "pending-seed": 0, "activation-session": 0, meta: 0 };
      for (const record of await tx.sealedRecords()) {
        const where = aadOf(record);
        let plain: Uint8Array;
        try {
          plain = this.ctx.masterKey.open(record.value, where);
        } catch {
          throw new BankError(
            "master-key",
            `cannot re-seal ${where.split(":").slice(0, 3).join(":")}: the current master key does not open it; nothing was changed`,
          );
        }
        await tx.replaceSealed(record, newKey.seal(plain, where));
        plain.fill(0);
        report[record.kind]++;
      }
      if (report.meta !== 2)
        throw new BankError("master-key", "the database lacks its master-key check or audit keys: open it once with 'bank status' first");
      const counts = `${report.seed} seeds, ${report["activation-password"]} activation passwords, ${report["pending-seed"]} pending seeds, ${report["activation-session"]} activation sessions, audit keys and key check`;
      await this.audit.append(tx, now, "rekey", null, null, by, `re-sealed under a new master key: ${counts}`);
      return report;
    });
  }
}
