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
  /** Kept from the PSKC document the token was imported from (RFC 6030 §4.3), written again at export. */
  issuer?: string;
  manufacturer?: string;
}

/** A token read from a PSKC document. */
export interface ImportedToken {
  /** The document's UserId: kept only when `signedBy` says the document's signature covered it. */
  userId?: string;
  serial: string;
  seed: Uint8Array;
  params: OtpParameters;
  expiresAt?: number;
  manufacturer?: string;
  issuer?: string;
  /** The signer certificate's SHA-256 fingerprint, set by readPskc only when the document's XML signature verified. */
  signedBy?: string;
}

/** Where an imported token went: its User ID in this bank, and the one the document gave it (if any). */
export interface ImportedAs {
  userId: string;
  serial: string;
  /** The document's UserId when it was not kept (an unsigned document). */
  fileUserId?: string;
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
      ...(token.issuer === null ? {} : { issuer: token.issuer }),
      ...(token.manufacturer === null ? {} : { manufacturer: token.manufacturer }),
    }));
  }

  /**
   * Stores imported tokens, all or none, in the document's order. A token of a signed document
   * (`signedBy`, set by readPskc after the signature verified) keeps its User ID: a customer with
   * that customer number is used or made, and must have no token; a User ID already present is
   * refused, so nothing stored is replaced. Every other token, and every token of an unsigned
   * document whatever UserId it names, gets a new customer and User ID (the document's is returned
   * as `fileUserId`): no MAC covers a UserId, so an unsigned one must never attach a seed to a
   * customer. Signed User IDs are placed first, so that a new customer's number (max + 1) never
   * takes one the document names further on.
   */
  async importSecrets(tokens: ImportedToken[], by = this.ctx.actor): Promise<ImportedAs[]> {
    const { masterKey, config } = this.ctx;
    const now = this.ctx.now();
    const serviceId = this.settings.serviceId;
    const keeps = (token: ImportedToken) => token.signedBy !== undefined && token.userId !== undefined;
    const order = tokens.map((_, i) => i).sort((a, b) => Number(keeps(tokens[b])) - Number(keeps(tokens[a])));
    // A refusal throws inside the transaction: it rolls back, so nothing of the document is stored.
    return this.ctx.store.transaction(async (tx) => {
      const done: ImportedAs[] = new Array(tokens.length);
      for (const index of order) {
        const token = tokens[index];
        const problem = otpParametersProblem(token.params);
        if (problem) throw new BankError("pskc", `the token ${token.serial}: ${problem}`);
        let userId = keeps(token) ? token.userId : undefined;
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
          issuer: token.issuer ?? null,
          manufacturer: token.manufacturer ?? null,
        };
        await tx.replaceToken(row);
        const device = [
          token.manufacturer === undefined ? "" : `, manufacturer ${JSON.stringify(token.manufacturer)}`,
          token.issuer === undefined ? "" : `, issuer ${JSON.stringify(token.issuer)}`,
        ].join("");
        const trust =
          token.signedBy !== undefined
            ? `signed by ${token.signedBy}`
            : `unsigned${token.userId === undefined ? "" : `, the file's User ID ${JSON.stringify(token.userId)} not used`}`;
        await this.audit.append(tx, now, "pskc-import", serviceId, userId, by, `serial ${token.serial}${device}, ${trust}`);
        const fileUserId = token.userId !== undefined && token.userId !== userId ? { fileUserId: token.userId } : {};
        done[index] = { userId, serial: token.serial, ...fileUserId };
      }
      return done;
    });
  }
}
