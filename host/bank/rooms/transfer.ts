// The transfer room: tokens out of and into the bank as seeds in clear for an encrypted PSKC
// document (RFC 6030; the codec is host/bank/pskc.ts). Reached by POST /v1/export/pskc and
// `bank export|import`.
import { makeUserId, USER_ID_FORM, USER_ID_PATTERN } from "../../identity.js";
import { aad } from "../crypto.js";
import { BankError } from "../errors.js";
import { type OtpParameters, otpParametersProblem } from "../protocol.js";
import type { CustomerRow, NewToken, TokenRow } from "../store.js";
import { type AuditWriter, type BankContext, type SettingsView, tokenParams } from "./shared.js";

/** Exported for PSKC (host/bank/pskc.ts): a token with its seed in clear. Never logged, zeroed by the caller. */
export interface TokenSecret {
  userId: string;
  serviceId: string;
  serial: string;
  seed: Uint8Array;
  params: OtpParameters;
  driftSteps: number;
  activatedAt: number;
  expiresAt: number;
}

/** A token read from a PSKC document. */
export interface ImportedToken {
  userId?: string;
  serial: string;
  seed: Uint8Array;
  params: OtpParameters;
  expiresAt?: number;
}

/** What the transfer room records outside a transaction of its own. */
export interface AuditRecorder {
  record(kind: string, userId: string | null, detail: string, by?: string): Promise<void>;
}

export class Transfer {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "config" | "now" | "actor">,
    private readonly audit: AuditWriter & AuditRecorder,
    private readonly settings: SettingsView,
  ) {}

  /** Seeds of the tokens at `userIds` (every unrevoked token when omitted), in clear, for an encrypted PSKC export. */
  async exportSecrets(userIds: string[] | undefined, by = this.ctx.actor): Promise<TokenSecret[]> {
    const { store, masterKey } = this.ctx;
    const tokens: TokenRow[] = [];
    if (userIds) {
      for (const userId of userIds) {
        const token = USER_ID_PATTERN.test(userId) ? await store.getToken(userId) : undefined;
        if (!token) throw new BankError("unknown", `no token has the User ID ${userId}`);
        tokens.push(token);
      }
    } else {
      for (let after = ""; ; ) {
        const page = await store.listTokens({ afterUserId: after, limit: 1000 });
        if (page.length === 0) break;
        tokens.push(...page.filter((t) => t.state !== "revoked"));
        after = page[page.length - 1].user_id;
      }
    }
    await this.audit.record(
      "pskc-export",
      null,
      `${tokens.length} token${tokens.length === 1 ? "" : "s"}: ${tokens
        .slice(0, 20)
        .map((t) => t.user_id)
        .join(", ")}${tokens.length > 20 ? ", ..." : ""}`,
      by,
    );
    return tokens.map((token) => ({
      userId: token.user_id,
      serviceId: token.service_id,
      serial: token.serial,
      seed: masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial)),
      params: tokenParams(token),
      driftSteps: token.drift_steps,
      activatedAt: token.activated_at,
      expiresAt: token.expires_at,
    }));
  }

  /**
   * Stores imported tokens, all or none. A token with a User ID keeps it (a new customer is made for
   * it); one without gets a new customer and User ID. A User ID already present is refused:
   * nothing stored is replaced.
   */
  async importSecrets(tokens: ImportedToken[], by = this.ctx.actor): Promise<{ userId: string; serial: string }[]> {
    const { masterKey, config } = this.ctx;
    const now = this.ctx.now();
    const serviceId = this.settings.serviceId;
    // A refusal throws inside the transaction: it rolls back, so nothing of the document is stored.
    return this.ctx.store.transaction(async (tx) => {
      const done: { userId: string; serial: string }[] = [];
      for (const token of tokens) {
        const problem = otpParametersProblem(token.params);
        if (problem) throw new BankError("pskc", `the token ${token.serial}: ${problem}`);
        let userId = token.userId;
        let customer: CustomerRow | null | undefined;
        if (userId !== undefined) {
          if (!USER_ID_PATTERN.test(userId))
            throw new BankError(
              "pskc",
              `the token ${token.serial}: User ID ${JSON.stringify(userId)} is not 16 upper-case letters or digits`,
            );
          if (await tx.userIdTaken(userId))
            throw new BankError("pskc", `the User ID ${userId} (token ${token.serial}) already exists in this bank: nothing was imported`);
          const form = USER_ID_FORM.exec(userId);
          customer = form
            ? ((await tx.customerByNumber(form[2])) ?? (await tx.insertCustomer(now, form[2])))
            : await tx.insertCustomer(now);
          if (customer && (await tx.tokenOfCustomer(customer.customer_id))) {
            throw new BankError("pskc", `the customer of ${userId} (token ${token.serial}) already has a token: nothing was imported`);
          }
          // The customer's next issue gets a higher issue number than the imported User ID's.
          if (customer && form) await tx.raiseIssueNumber(customer.customer_id, Number(form[3]));
        } else {
          customer = await tx.insertCustomer(now);
          if (customer) userId = makeUserId(serviceId, customer.customer_number!, await tx.nextIssueNumber(customer.customer_id));
        }
        if (!customer || userId === undefined) throw new BankError("pskc", "every 7-digit customer number is taken");
        const row: NewToken = {
          user_id: userId,
          customer_id: customer.customer_id,
          issue_id: null,
          service_id: serviceId,
          serial: token.serial,
          seed: masterKey.seal(token.seed, aad.seed(serviceId, userId, token.serial)),
          ...token.params,
          drift_steps: 0,
          last_step: Math.floor(now / token.params.period) - 1,
          activated_at: now,
          expires_at: token.expiresAt ?? now + config.tokenLifetimeSeconds,
        };
        await tx.replaceToken(row);
        await this.audit.append(tx, now, "pskc-import", serviceId, userId, by, `serial ${token.serial}`);
        done.push({ userId, serial: token.serial });
      }
      return done;
    });
  }
}
