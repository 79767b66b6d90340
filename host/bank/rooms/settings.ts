// The settings room: the master key checked against the database at open, and the bank's settings
// (its Service ID and its mail domain), which live in the store so every instance agrees.
// Reached by `bank init`, `bank settings`, and `Bank.open` in every front end.
import { SERVICE_ID_PATTERN } from "../../identity.js";
import { DEFAULT_MAIL_DOMAIN } from "../config.js";
import { aad, type MasterKey } from "../crypto.js";
import { BankError } from "../errors.js";
import type { BankStore, SettingName } from "../store.js";
import type { AuditWriter, BankContext, SettingsView } from "./shared.js";

const KEY_CHECK = "master-key-check";
const MAIL_DOMAIN_PATTERN =
  /^(?=.{3,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export interface BankSettings {
  serviceId: string;
  mailDomain: string;
  /** Audit retention: days the trail stays in the database before `bank audit archive` moves it out; null: not set. */
  auditRetentionDays: number | null;
}

/** The longest audit retention a bank may set, in days (about 270 years). */
export const MAX_RETENTION_DAYS = 100_000;

/**
 * Checks `masterKey` against the value sealed in the database at its first use (a wrong key fails
 * here, not at the first login) and reads the bank's settings.
 */
export async function openSettings(store: BankStore, masterKey: MasterKey): Promise<BankSettings> {
  return store.transaction(async (tx) => {
    const stored = await tx.initMeta(KEY_CHECK, masterKey.seal(new Uint8Array(16), aad.keyCheck()));
    try {
      masterKey.open(stored, aad.keyCheck());
    } catch {
      throw new BankError(
        "master-key",
        "the master key is not the one this bank database was created with: give the right --master-key-file or OTP_BANK_MASTER_KEY",
      );
    }
    return {
      serviceId: (await tx.getSetting("service_id")) ?? "",
      mailDomain: (await tx.getSetting("mail_domain")) ?? DEFAULT_MAIL_DOMAIN,
      auditRetentionDays: retentionOf(await tx.getSetting("audit_retention_days")),
    };
  });
}

export class Settings implements SettingsView {
  #serviceId: string;
  #mailDomain: string;
  #auditRetentionDays: number | null;

  constructor(
    private readonly ctx: Pick<BankContext, "store" | "now" | "actor">,
    private readonly audit: AuditWriter,
    read: BankSettings,
  ) {
    this.#serviceId = read.serviceId;
    this.#mailDomain = read.mailDomain;
    this.#auditRetentionDays = read.auditRetentionDays;
  }

  /** Days the audit trail stays in the database before it is archived (`bank audit archive`); null: not set. */
  get auditRetentionDays(): number | null {
    return this.#auditRetentionDays;
  }

  /** The bank's Service ID (8 digits, the same for every customer). */
  get serviceId(): string {
    return this.#serviceId;
  }

  /** The domain set-up mails are sent from: customers let it through their mail filter. */
  get mailDomain(): string {
    return this.#mailDomain;
  }

  /** Changes the bank's settings (each instance reads them at start-up). Issued User IDs keep working. */
  async update(changes: { serviceId?: string; mailDomain?: string; auditRetentionDays?: number }, by = this.ctx.actor): Promise<void> {
    const days = changes.auditRetentionDays;
    if (days !== undefined && !(Number.isInteger(days) && days >= 0 && days <= MAX_RETENTION_DAYS))
      throw new BankError("settings", `the audit retention must be a whole number of days from 0 to ${MAX_RETENTION_DAYS}`);
    if (changes.serviceId !== undefined && !SERVICE_ID_PATTERN.test(changes.serviceId))
      throw new BankError("settings", "the Service ID must be 8 digits");
    if (changes.mailDomain !== undefined && !MAIL_DOMAIN_PATTERN.test(changes.mailDomain)) {
      throw new BankError("settings", "the mail domain must be a domain name such as bank.example (letters, digits, hyphens and dots)");
    }
    const now = this.ctx.now();
    await this.ctx.store.transaction(async (tx) => {
      const set: [SettingName, string | undefined][] = [
        ["service_id", changes.serviceId],
        ["mail_domain", changes.mailDomain],
        ["audit_retention_days", days === undefined ? undefined : String(days)],
      ];
      for (const [name, value] of set) {
        if (value === undefined) continue;
        await tx.setSetting(name, value);
        await this.audit.append(tx, now, "setting", null, null, by, `${name} = ${value}`);
      }
    });
    if (changes.serviceId !== undefined) this.#serviceId = changes.serviceId;
    if (changes.mailDomain !== undefined) this.#mailDomain = changes.mailDomain;
    if (days !== undefined) this.#auditRetentionDays = days;
  }
}

function retentionOf(text: string | null): number | null {
  const days = text === null ? Number.NaN : Number(text);
  return Number.isInteger(days) && days >= 0 ? days : null;
}
